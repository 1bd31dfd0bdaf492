"""Buttons on cards that act on the call: "↪️ Transfer" and "↪️ To a colleague" (a picker
of colleagues, busy ones marked, and "another number…"), "⏺ Record", "⛔ Hang up" and
"📲 To my mobile". The card itself says how each action went.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from redis.asyncio import Redis

from bot.config import Settings
from bot.pbx.base import Capability
from bot.pbx.providers import Providers
from bot.phones import display, normalise
from bot.pipeline.notify import Notifier
from bot.pipeline.sessions import ActionKind
from bot.services.call_control import CallControl, CallSide
from bot.services.dialing import Refusal
from bot.services.presence import Presence
from bot.storage import Keys, Repositories
from bot.storage.commands import PENDING_TTL
from bot.telegram.callbacks import CardAct, CardCallback, PickCallback, PickMode
from bot.telegram.gates import RequireLink
from bot.telegram.identity import Identity
from bot.texts import Translator

TAP_SECONDS = 30  # a second tap of the same button within this sends nothing
ANOTHER = "*"
CANCEL = "-"
DIRECT = {CardAct.HANGUP: ActionKind.HANGUP, CardAct.RECORD: ActionKind.RECORD}


class PassForm(StatesGroup):
    """ "Another number…": the next message is the number to pass the call to."""

    number = State()


def build_router() -> Router:
    """Card buttons, the picker and its number form; linked people only."""
    router = Router(name=__name__)
    router.message.middleware(RequireLink())
    router.callback_query.middleware(RequireLink())
    router.callback_query.register(card_button, CardCallback.filter())
    router.callback_query.register(pick, PickCallback.filter())
    router.message.register(cancel_number, Command("cancel"), StateFilter(PassForm.number))
    router.message.register(number_given, PassForm.number, F.text)
    return router


async def _pressed_side(
    query: CallbackQuery, ext: str, t: Translator, redis: Redis, keys: Keys
) -> tuple[Message, CallSide] | None:
    """The message pressed and the side of the call it is about (a card's, or a picker's
    under it); None, after saying the call is gone, when pbxgram no longer knows it."""
    message = query.message if isinstance(query.message, Message) else None
    about = (
        await redis.get(keys.message_about(message.chat.id, message.message_id))
        if message is not None
        else None
    )
    if message is None or not about:
        await query.answer(t.label("notices.call_gone"), show_alert=True)
        return None
    account, call_id = str(about).split(" ", 1)
    return message, CallSide(account, call_id, ext)


async def _first_tap(redis: Redis, keys: Keys, message: Message, action: str) -> bool:
    return bool(
        await redis.set(
            keys.tap(message.chat.id, message.message_id, action), "1", nx=True, ex=TAP_SECONDS
        )
    )


async def card_button(
    query: CallbackQuery,
    callback_data: CardCallback,
    identity: Identity,
    t: Translator,
    call_control: CallControl,
    redis: Redis,
    keys: Keys,
    settings: Settings,
    notifier: Notifier,
    presence: Presence,
    repos: Repositories,
) -> None:
    pressed = await _pressed_side(query, callback_data.ext, t, redis, keys)
    if pressed is None:
        return
    message, side = pressed
    act = callback_data.act
    try:
        if act in (CardAct.TRANSFER, CardAct.COLLEAGUE):
            kind = ActionKind.TRANSFER if act is CardAct.TRANSFER else ActionKind.ROUTE
            call_control.link_for(t, identity, side)
            call_control.provider(t, side.account, kind)
            session = await call_control.session(t, side)
            client = display(session.client_number) if session.client_number else "—"
            text, markup = await _picker(t, act, side, client, notifier, presence, repos)
            picker = await message.reply(text, reply_markup=markup)
            await redis.set(
                keys.message_about(picker.chat.id, picker.message_id),
                f"{side.account} {side.call_id}",
                ex=PENDING_TTL,
            )
            await query.answer()
            return
        target = ""
        if act is CardAct.MOBILE:
            kind = ActionKind.MOBILE
            mobile = await redis.get(keys.mobile(identity.telegram_id))
            if not mobile:
                raise Refusal(t.label("control.no_mobile"))
            target = str(mobile)
        else:
            kind = DIRECT[act]
        if not await _first_tap(redis, keys, message, f"{act.value}:{side.extension}"):
            await query.answer(t.label("calls.already_placing"))
            return
        await call_control.act(t, identity, side, kind, target)
    except Refusal as refusal:
        await query.answer(refusal.text, show_alert=True)
        return
    await query.answer()


async def _picker(
    t: Translator,
    act: CardAct,
    side: CallSide,
    client: str,
    notifier: Notifier,
    presence: Presence,
    repos: Repositories,
) -> tuple[str, InlineKeyboardMarkup]:
    """The colleagues of the account (busy ones marked), "another number…" and "Cancel"."""
    busy = await presence.busy(side.account)
    rows: list[list[InlineKeyboardButton]] = []
    links = sorted(await repos.links.of_account(side.account), key=lambda x: x.extension)
    for link in links:
        if link.extension == side.extension:
            continue
        name = await notifier.name_of(side.account, link.extension) or link.extension
        label = t.label("control.busy", name=name) if link.extension in busy else name
        data = PickCallback(act=act, ext=side.extension, to=link.extension)
        rows.append([InlineKeyboardButton(text=label, callback_data=data.pack())])
    for label, to in (("another", ANOTHER), ("cancel", CANCEL)):
        data = PickCallback(act=act, ext=side.extension, to=to)
        rows.append(
            [InlineKeyboardButton(text=t.label(f"control.{label}"), callback_data=data.pack())]
        )
    key = "pick_transfer" if act is CardAct.TRANSFER else "pick_route"
    return t.label(f"control.{key}", client=client), InlineKeyboardMarkup(inline_keyboard=rows)


async def pick(
    query: CallbackQuery,
    callback_data: PickCallback,
    identity: Identity,
    t: Translator,
    call_control: CallControl,
    providers: Providers,
    notifier: Notifier,
    redis: Redis,
    keys: Keys,
    state: FSMContext,
) -> None:
    pressed = await _pressed_side(query, callback_data.ext, t, redis, keys)
    if pressed is None:
        return
    message, side = pressed
    to, act = callback_data.to, callback_data.act
    if to == CANCEL:
        await message.delete()
        await query.answer(t.label("control.cancelled"))
        return
    try:
        call_control.link_for(t, identity, side)
    except Refusal as refusal:
        await query.answer(refusal.text, show_alert=True)
        return
    if to == ANOTHER:
        await state.set_state(PassForm.number)
        await state.update_data(
            account=side.account, call_id=side.call_id, ext=side.extension, act=act.value
        )
        await message.answer(t.label("control.ask_number"), reply_markup=ForceReply(selective=True))
        await query.answer()
        return
    provider = providers.get(side.account)
    consult = provider is not None and provider.supports(Capability.CONSULT_TRANSFER)
    if act is CardAct.TRANSFER and consult and callback_data.mode is PickMode.ASK:
        name = await notifier.name_of(side.account, to) or to
        try:
            session = await call_control.session(t, side)
        except Refusal as refusal:
            await query.answer(refusal.text, show_alert=True)
            return
        client = display(session.client_number) if session.client_number else "—"
        await message.edit_text(
            t.label("control.pick_mode", client=client, name=name),
            reply_markup=_modes(t, side, to, name),
        )
        await query.answer()
        return
    kind = ActionKind.ROUTE
    if act is CardAct.TRANSFER:
        kind = ActionKind.CONSULT if callback_data.mode is PickMode.CONSULT else ActionKind.TRANSFER
    if not await _first_tap(redis, keys, message, "pick"):
        await query.answer(t.label("calls.already_placing"))
        return
    try:
        await call_control.act(t, identity, side, kind, to)
    except Refusal as refusal:
        await redis.delete(keys.tap(message.chat.id, message.message_id, "pick"))
        await query.answer(refusal.text, show_alert=True)
        return
    await query.answer()
    await message.delete()  # the card now says how the transfer goes


def _modes(t: Translator, side: CallSide, to: str, name: str) -> InlineKeyboardMarkup:
    def button(text: str, mode: PickMode | None) -> list[InlineKeyboardButton]:
        target, chosen = (to, mode) if mode is not None else (CANCEL, PickMode.ASK)
        data = PickCallback(act=CardAct.TRANSFER, ext=side.extension, to=target, mode=chosen)
        return [InlineKeyboardButton(text=text, callback_data=data.pack())]

    return InlineKeyboardMarkup(
        inline_keyboard=[
            button(t.label("control.transfer_now"), PickMode.BLIND),
            button(t.label("control.consult_first", name=name), PickMode.CONSULT),
            button(t.label("control.cancel"), None),
        ]
    )


async def cancel_number(message: Message, t: Translator, state: FSMContext) -> None:
    await state.clear()
    await message.answer(t.label("control.cancelled"))


async def number_given(
    message: Message,
    identity: Identity,
    t: Translator,
    call_control: CallControl,
    settings: Settings,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    account = settings.account(str(data.get("account")))
    number = normalise(message.text or "", account.region if account else "RU")
    if number is None:
        await message.answer(t.label("control.bad_number"))
        return
    await state.clear()
    side = CallSide(str(data["account"]), str(data["call_id"]), str(data["ext"]))
    act = CardAct(str(data.get("act")))
    kind = ActionKind.TRANSFER if act is CardAct.TRANSFER else ActionKind.ROUTE
    try:
        await call_control.act(t, identity, side, kind, number)
    except Refusal as refusal:
        await message.answer(refusal.text)
