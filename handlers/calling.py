"""Click-to-call and SMS: ``/call``, ``/sms``, a shared contact or a bare number offered as
buttons, and the call/SMS buttons on other messages. Calls and SMS go out from the
person's own extension; the answer is edited when the PBX reports how the command ended.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)

from bot.domain import Link
from bot.pbx.base import Capability
from bot.phones import display, normalise
from bot.services.call_back import call_back
from bot.services.dialing import Dialer, Refusal, find_number, split_number
from bot.telegram.callbacks import DialAction, DialCallback
from bot.telegram.gates import RequireLink
from bot.telegram.identity import Identity
from bot.telegram.keyboards import dial_offer_keyboard
from bot.texts import Translator

BARE_NUMBER = re.compile(r"^\+?[\d\s().\-]{7,30}$")


def build_router() -> Router:
    """``/call``, ``/sms`` (and its form), offers for a shared number, and their buttons;
    linked people only. Register :class:`LeaveFormOnCommand` on the root router.
    """
    router = Router(name=__name__)
    router.message.middleware(RequireLink())
    router.callback_query.middleware(RequireLink())
    router.message.register(call_command, Command("call"))
    router.message.register(sms_command, Command("sms"))
    router.message.register(sms_cancel, Command("cancel"), StateFilter(SmsForm.text))
    router.message.register(sms_text, SmsForm.text, F.text)
    router.message.register(sms_not_text, SmsForm.text)
    private = F.chat.type == ChatType.PRIVATE
    router.message.register(contact_offer, private, F.contact, StateFilter(None))
    router.message.register(number_offer, private, F.text.regexp(BARE_NUMBER), StateFilter(None))
    router.callback_query.register(dial_call, DialCallback.filter(F.action == DialAction.CALL))
    router.callback_query.register(dial_sms, DialCallback.filter(F.action == DialAction.SMS))
    router.callback_query.register(
        dial_last,
        DialCallback.filter(F.action.in_({DialAction.CALL_RETURN, DialAction.REDIAL})),
    )
    return router


class SmsForm(StatesGroup):
    """``/sms <number>`` without a text: the next message is the text."""

    text = State()


class LeaveFormOnCommand(BaseMiddleware):
    """A command other than /cancel while the bot waits for a form's answer (an SMS text,
    a number to pass a call to) drops that form.

    Register on the root router's ``message`` observer (outer), so it runs before any
    router takes the command.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        state: FSMContext | None = data.get("state")
        if (
            isinstance(event, Message)
            and state is not None
            and data.get("raw_state") is not None
            and _command_name(event) not in (None, "cancel")
        ):
            await state.clear()
            data["raw_state"] = None
        return await handler(event, data)


def _command_name(message: Message) -> str | None:
    text = message.text or ""
    words = text[1:].split(maxsplit=1) if text.startswith("/") else []
    return words[0].split("@")[0].lower() if words else None


def _link_for(identity: Identity, account: str) -> Link | None:
    return next((link for link in identity.links if link.account == account), None)


def _number_in(message: Message, region: str) -> str | None:
    """A phone number from a message: its contact, else the first number in its text."""
    if message.contact is not None:
        return normalise(message.contact.phone_number, region)
    return find_number(message.text or message.caption or "", region)


# /call ---------------------------------------------------------------------------------
async def call_command(
    message: Message, command: CommandObject, identity: Identity, t: Translator, dialer: Dialer
) -> None:
    link = identity.links[0]
    region = dialer.region(link)
    args = (command.args or "").strip()
    replied = message.reply_to_message
    if args:
        number = normalise(args, region)
        if number is None:
            await message.answer(t("call_bad_number", raw=args))
            return
    elif replied is not None:
        number = _number_in(replied, region)
        if number is None:
            await message.answer(t("call_no_number"))
            return
    else:
        await message.answer(t("call_usage"), reply_markup=call_last_keyboard(t, link, dialer))
        return
    try:
        await dialer.call(t, link, number, message.chat.id, reply_to=message.message_id)
    except Refusal as refusal:
        await message.answer(refusal.text)


# /sms ----------------------------------------------------------------------------------
async def sms_command(
    message: Message,
    command: CommandObject,
    identity: Identity,
    t: Translator,
    dialer: Dialer,
    state: FSMContext,
) -> None:
    link = identity.links[0]
    args = (command.args or "").strip()
    if not args:
        await message.answer(t("sms_usage"))
        return
    number, text = split_number(args, dialer.region(link))
    if number is None:
        await message.answer(t("call_bad_number", raw=args.split()[0]))
        return
    if not text:
        await _ask_for_text(message, t, dialer, state, link, number)
        return
    try:
        await dialer.sms(t, link, number, text, message.chat.id, reply_to=message.message_id)
    except Refusal as refusal:
        await message.answer(refusal.text)


async def _ask_for_text(
    message: Message, t: Translator, dialer: Dialer, state: FSMContext, link: Link, number: str
) -> None:
    try:
        dialer.provider(t, link, Capability.SMS)
    except Refusal as refusal:
        await message.answer(refusal.text)
        return
    await state.set_state(SmsForm.text)
    await state.set_data({"account": link.account, "number": number})
    await message.answer(t("sms_ask_text", number=display(number)))


async def sms_cancel(message: Message, t: Translator, state: FSMContext) -> None:
    await state.clear()
    await message.answer(t("sms_cancelled"))


async def sms_text(
    message: Message, identity: Identity, t: Translator, dialer: Dialer, state: FSMContext
) -> None:
    data = await state.get_data()
    link = _link_for(identity, str(data.get("account")))
    number = str(data.get("number"))
    text = (message.text or "").strip()
    if link is None:
        await state.clear()
        await message.answer(t.label("calls.not_linked_here"))
        return
    try:
        dialer.check_sms(t, link, text)
    except Refusal as refusal:
        await message.answer(t("sms_text_refused", reason=refusal.text))
        return
    await state.clear()
    try:
        await dialer.sms(t, link, number, text, message.chat.id, reply_to=message.message_id)
    except Refusal as refusal:
        await message.answer(refusal.text)


async def sms_not_text(message: Message, t: Translator, state: FSMContext) -> None:
    data = await state.get_data()
    await message.answer(t("sms_text_expected", number=display(str(data.get("number")))))


# a contact or a bare number in a private chat (not while another form waits for input) ----
async def contact_offer(
    message: Message, identity: Identity, t: Translator, dialer: Dialer
) -> None:
    link = identity.links[0]
    assert message.contact is not None
    number = normalise(message.contact.phone_number, dialer.region(link))
    if number is None:
        await message.answer(t("call_bad_number", raw=message.contact.phone_number))
        return
    await _answer_offer(message, t, link, number, dialer)


async def number_offer(message: Message, identity: Identity, t: Translator, dialer: Dialer) -> None:
    link = identity.links[0]
    raw = (message.text or "").strip()
    number = normalise(raw, dialer.region(link))
    if number is None:
        await message.answer(t("call_bad_number", raw=raw))
        return
    await _answer_offer(message, t, link, number, dialer)


async def _answer_offer(
    message: Message, t: Translator, link: Link, number: str, dialer: Dialer
) -> None:
    try:
        dialer.provider(t, link, Capability.CALLBACK)
    except Refusal as refusal:
        await message.answer(refusal.text)
        return
    sms = _can(dialer, t, link, Capability.SMS)
    await message.answer(
        t("call_offer", number=display(number), extension=link.extension),
        reply_markup=dial_offer_keyboard(t, link, number, sms=sms),
    )


def _can(dialer: Dialer, t: Translator, link: Link, capability: Capability) -> bool:
    try:
        dialer.provider(t, link, capability)
    except Refusal:
        return False
    return True


# buttons -------------------------------------------------------------------------------
async def dial_call(
    query: CallbackQuery,
    callback_data: DialCallback,
    identity: Identity,
    t: Translator,
    dialer: Dialer,
) -> None:
    """Call: from the presser's extension, announced in their private chat."""
    pressed = query.message
    in_private = pressed is not None and pressed.chat.id == identity.telegram_id
    answer = await call_back(
        dialer,
        t,
        identity.links,
        callback_data.account,
        "+" + callback_data.number,
        identity.telegram_id,
        placed="calling.answers.placing",
        reply_to=pressed.message_id if in_private and pressed is not None else None,
    )
    await query.answer(answer.text, show_alert=answer.alert)


def call_last_keyboard(t: Translator, link: Link, dialer: Dialer) -> InlineKeyboardMarkup | None:
    """ "Call back the last caller" and "Redial", where the PBX keeps them (MTS)."""
    try:
        dialer.provider(t, link, Capability.CALL_RETURN)
    except Refusal:
        return None
    buttons = [
        InlineKeyboardButton(
            text=t.label(f"calling.buttons.{action.name.lower()}"),
            callback_data=DialCallback(action=action, account=link.account, number="").pack(),
        )
        for action in (DialAction.CALL_RETURN, DialAction.REDIAL)
    ]
    return InlineKeyboardMarkup(inline_keyboard=[[button] for button in buttons])


async def dial_last(
    query: CallbackQuery,
    callback_data: DialCallback,
    identity: Identity,
    t: Translator,
    dialer: Dialer,
) -> None:
    """Call back the last caller, or redial: announced in the presser's private chat."""
    link = _link_for(identity, callback_data.account)
    if link is None:
        await query.answer(t.label("calls.not_linked_here"), show_alert=True)
        return
    try:
        await dialer.call_last(
            t,
            link,
            identity.telegram_id,
            redial=callback_data.action is DialAction.REDIAL,
            reply_to=query.message.message_id if query.message is not None else None,
        )
    except Refusal as refusal:
        await query.answer(refusal.text, show_alert=True)
        return
    await query.answer()


async def dial_sms(
    query: CallbackQuery,
    callback_data: DialCallback,
    identity: Identity,
    t: Translator,
    dialer: Dialer,
    state: FSMContext,
) -> None:
    """SMS: pressed in the private chat, asks for the text there."""
    link = _link_for(identity, callback_data.account)
    if link is None:
        await query.answer(t.label("calls.not_linked_here"), show_alert=True)
        return
    pressed = query.message
    if not isinstance(pressed, Message) or pressed.chat.id != identity.telegram_id:
        await query.answer()
        return
    await _ask_for_text(pressed, t, dialer, state, link, "+" + callback_data.number)
    await query.answer()
