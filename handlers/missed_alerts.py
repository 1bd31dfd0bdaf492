"""Buttons on missed-call alerts: "Call back" (from the presser's own extension), "I'll
take it" (claims the call; every copy of the alert says who took it), and "No call back
needed" (asks why: spam, a wrong number, solved another way; then closes the call).
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from redis.asyncio import Redis

from bot.domain import Role
from bot.pipeline.notify import Notifier
from bot.services.audit import AuditLog
from bot.services.call_back import call_back
from bot.services.dialing import Dialer, Refusal
from bot.services.missed_calls import MissedCall, MissedCalls, NoCallBack
from bot.services.missed_claims import no_call_back, take
from bot.services.outgoing_lines import OutgoingLines
from bot.storage import Keys
from bot.telegram.callbacks import MissedAction, MissedCallback, NoCallBackCallback
from bot.telegram.gates import RequireLink
from bot.telegram.identity import Identity
from bot.telegram.keyboards import no_call_back_keyboard
from bot.texts import Translator

TAP_SECONDS = 30  # a second tap of the same button within this is not a second command


def build_router() -> Router:
    """The two buttons of a missed-call alert; linked people only."""
    router = Router(name=__name__)
    router.callback_query.middleware(RequireLink())
    router.callback_query.register(
        take_missed, MissedCallback.filter(F.action == MissedAction.TAKE)
    )
    router.callback_query.register(
        call_missed_back, MissedCallback.filter(F.action == MissedAction.CALL)
    )
    router.callback_query.register(
        ask_why_no_call_back, MissedCallback.filter(F.action == MissedAction.DISMISS)
    )
    router.callback_query.register(
        group_calls_back, MissedCallback.filter(F.action == MissedAction.GROUP)
    )
    router.callback_query.register(close_without_call_back, NoCallBackCallback.filter())
    return router


async def take_missed(
    query: CallbackQuery,
    callback_data: MissedCallback,
    identity: Identity,
    t: Translator,
    missed_calls: MissedCalls,
    notifier: Notifier,
) -> None:
    missed = await _open_and_yours(query, callback_data, identity, t, missed_calls)
    if missed is None:
        return
    name = identity.user.first_name or identity.user.display_name
    earlier = await take(missed_calls, notifier, missed, name, identity.telegram_id)
    if earlier is not None:
        await query.answer(t.label("calls.already_taken", name=earlier))
        return
    await query.answer(t.label("calls.yours"))


async def call_missed_back(
    query: CallbackQuery,
    callback_data: MissedCallback,
    identity: Identity,
    t: Translator,
    missed_calls: MissedCalls,
    dialer: Dialer,
) -> None:
    missed = await _still_open(query, callback_data, t, missed_calls)
    if missed is None:
        return
    # the call is announced, and its result shown, in the presser's private chat
    answer = await call_back(
        dialer,
        t,
        identity.links,
        missed.account,
        missed.client_number,
        identity.telegram_id,
        placed="calls.calling",
    )
    await query.answer(answer.text, show_alert=answer.alert)


async def group_calls_back(
    query: CallbackQuery,
    callback_data: MissedCallback,
    identity: Identity,
    t: Translator,
    missed_calls: MissedCalls,
    notifier: Notifier,
    dialer: Dialer,
    outgoing_lines: OutgoingLines,
    redis: Redis,
    keys: Keys,
) -> None:
    """Managers: the PBX rings the group that missed the call, then the client; the
    alert's copies then say who talked to the client, as for any call back."""
    missed = await _open_and_yours(query, callback_data, identity, t, missed_calls)
    if missed is None:
        return
    link = next(x for x in identity.links if x.account == missed.account)
    if not identity.has_role(Role.MANAGER):
        await query.answer(t.label("calls.group_managers_only"), show_alert=True)
        return
    if not missed.group or not missed.client_number or not isinstance(query.message, Message):
        await query.answer(t.label("pbx_errors.unsupported"), show_alert=True)
        return
    message = query.message
    tap = keys.tap(message.chat.id, message.message_id, MissedAction.GROUP.value)
    if not await redis.set(tap, "1", nx=True, ex=TAP_SECONDS):
        await query.answer(t.label("calls.already_placing"))  # a double tap places nothing
        return
    names = await notifier.directory.group_names(missed.account)
    line = await outgoing_lines.chosen(link) or missed.line_number
    try:
        await dialer.call_group(
            t,
            link,
            missed.group,
            names.get(missed.group, missed.group),
            missed.client_number,
            message.chat.id,
            line_number=line,
            reply_to=message.message_id,
        )
    except Refusal as refusal:
        await redis.delete(tap)
        await query.answer(refusal.text, show_alert=True)
        return
    await query.answer()


async def ask_why_no_call_back(
    query: CallbackQuery,
    callback_data: MissedCallback,
    identity: Identity,
    t: Translator,
    missed_calls: MissedCalls,
) -> None:
    missed = await _open_and_yours(query, callback_data, identity, t, missed_calls)
    if missed is None:
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.reply(
            t.label("calls.why_no_call_back"),
            reply_markup=no_call_back_keyboard(t, missed.ref),
        )


async def close_without_call_back(
    query: CallbackQuery,
    callback_data: NoCallBackCallback,
    identity: Identity,
    t: Translator,
    missed_calls: MissedCalls,
    notifier: Notifier,
    audit: AuditLog,
) -> None:
    try:
        reason = NoCallBack(callback_data.reason)
    except ValueError:
        await query.answer()
        return
    missed = await missed_calls.get(callback_data.ref)
    link = next((x for x in identity.links if missed and x.account == missed.account), None)
    if missed is None or link is None:
        await query.answer(t.label("calls.not_linked_here"), show_alert=True)
        return
    name = identity.user.first_name or identity.user.display_name
    closed = await no_call_back(
        missed_calls, notifier, missed.ref, name, link.extension, reason, datetime.now(UTC)
    )
    if not closed:
        await query.answer(t.label("calls.already_closed"), show_alert=True)
        return
    if reason is NoCallBack.SPAM and missed.client_number:
        await audit.record(
            "spam_mark",
            actor=identity.telegram_id,
            account=missed.account,
            chat=query.message.chat.id if query.message else None,
            details={"number": missed.client_number, "how": "no_call_back"},
        )
    await query.answer()
    if isinstance(query.message, Message):
        reason_text = t.label(f"calls.no_call_back_{reason.value}")
        await query.message.edit_text(t.label("calls.no_call_back_noted", reason=reason_text))


async def _open_and_yours(
    query: CallbackQuery,
    callback_data: MissedCallback,
    identity: Identity,
    t: Translator,
    missed_calls: MissedCalls,
) -> MissedCall | None:
    """The missed call, if it is still open and of an account the presser is linked to;
    else the press is told why not."""
    missed = await _still_open(query, callback_data, t, missed_calls)
    if missed is None:
        return None
    if not any(link.account == missed.account for link in identity.links):
        await query.answer(t.label("calls.not_linked_here"), show_alert=True)
        return None
    return missed


async def _still_open(
    query: CallbackQuery, callback_data: MissedCallback, t: Translator, missed_calls: MissedCalls
) -> MissedCall | None:
    """The missed call, if nobody has closed it yet; else the press is told so."""
    missed = await missed_calls.get(callback_data.ref)
    if missed is None or not missed.is_open:
        await query.answer(t.label("calls.already_closed"), show_alert=True)
        return None
    return missed
