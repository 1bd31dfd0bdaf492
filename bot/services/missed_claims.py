"""What people do with a missed call from its alert: take it ("I'll take it"), or close it
as needing no call back (with a reason). Every copy of the alert then says so. Use
:func:`take` and :func:`no_call_back` from the alert's button handlers.
"""

from __future__ import annotations

from datetime import datetime

from bot.pipeline.notify import Notifier
from bot.services.missed_calls import MissedCall, MissedCalls, NoCallBack


async def take(
    missed_calls: MissedCalls,
    notifier: Notifier,
    missed: MissedCall,
    name: str,
    chat_id: int,
) -> str | None:
    """Claim ``missed`` for ``name`` (whose private chat is ``chat_id``: reminders go there)
    and redraw its alerts; None when taken now, else the name of whoever took it first.
    """
    async with missed_calls.locked(missed.ref):
        missed = await missed_calls.get(missed.ref) or missed
        if missed.taken_by is not None:
            return missed.taken_by
        missed.taken_by = name
        missed.taken_by_chat = chat_id
        await missed_calls.save(missed)
    await notifier.render_missed(missed)
    return None


async def no_call_back(
    missed_calls: MissedCalls,
    notifier: Notifier,
    ref: str,
    name: str,
    extension: str | None,
    reason: NoCallBack,
    at: datetime,
) -> bool:
    """Close the missed call ``ref`` as needing no call back; False if it was closed already
    (someone talked to the client, or said so first)."""
    async with missed_calls.locked(ref):
        missed = await missed_calls.get(ref)
        if missed is None or not missed.is_open:
            return False
        missed.closed_by = name
        missed.closed_by_extension = extension
        missed.closed_at = at
        missed.closed_how = "no_call_back"
        missed.no_call_back = reason
        await missed_calls.save(missed)
        if reason is NoCallBack.SPAM and missed.client_number:
            await missed_calls.mark_spam(missed.account, missed.client_number, by=name, at=at)
    await notifier.render_missed(missed)
    return True
