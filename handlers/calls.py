"""Buttons on missed-call alerts: "Call back" (from the presser's own extension) and
"I'll take it" (claims the call; every copy of the alert says who took it).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery
from redis.asyncio import Redis

from bot.pipeline.dialer import Dialer, Refusal
from bot.pipeline.missed import MissedCalls
from bot.pipeline.notify import Notifier
from bot.telegram.callbacks import MissedAction, MissedCallback
from bot.telegram.gates import RequireLink
from bot.telegram.identity import Identity
from bot.texts import Translator


def build_router() -> Router:
    """The two buttons of a missed-call alert; linked people only."""
    router = Router(name=__name__)
    router.callback_query.middleware(RequireLink())
    router.callback_query.register(missed_button, MissedCallback.filter())
    return router


async def missed_button(
    query: CallbackQuery,
    callback_data: MissedCallback,
    identity: Identity,
    t: Translator,
    missed_calls: MissedCalls,
    notifier: Notifier,
    dialer: Dialer,
    redis: Redis,
) -> None:
    missed = await missed_calls.get(callback_data.ref)
    if missed is None or not missed.is_open:
        await query.answer(t.label("calls.already_closed"), show_alert=True)
        return
    link = next((link for link in identity.links if link.account == missed.account), None)
    if link is None:
        await query.answer(t.label("calls.not_linked_here"), show_alert=True)
        return
    if callback_data.action is MissedAction.TAKE:
        async with redis.lock(f"pbxgram:missed:{missed.ref}:lock", timeout=10):
            missed = await missed_calls.get(callback_data.ref) or missed
            if missed.taken_by is not None:
                await query.answer(t.label("calls.already_taken", name=missed.taken_by))
                return
            missed.taken_by = identity.user.first_name or identity.user.display_name
            await missed_calls.save(missed)
        await notifier.render_missed(missed)
        await query.answer(t.label("calls.yours"))
        return
    if missed.client_number is None:
        await query.answer(t.label("pbx_errors.unsupported"), show_alert=True)
        return
    try:  # the call is announced, and its result shown, in the presser's private chat
        await dialer.call(t, link, missed.client_number, identity.telegram_id)
    except Refusal as refusal:
        await query.answer(refusal.text, show_alert=True)
        return
    await query.answer(t.label("calls.calling", extension=link.extension))
