"""Taking a missed call ("I'll take it"): one person claims it, every copy of the alert
says who. Use :func:`take` from the alert's button handler.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.pipeline.notify import Notifier
from bot.services.missed_calls import MissedCall, MissedCalls
from bot.storage import Keys

TAKE_LOCK_TIMEOUT = 10  # seconds


async def take(
    redis: Redis,
    keys: Keys,
    missed_calls: MissedCalls,
    notifier: Notifier,
    missed: MissedCall,
    name: str,
) -> str | None:
    """Claim ``missed`` for ``name`` and redraw its alerts; None when taken now, else the
    name of whoever took it first.
    """
    async with redis.lock(keys.missed_lock(missed.ref), timeout=TAKE_LOCK_TIMEOUT):
        missed = await missed_calls.get(missed.ref) or missed
        if missed.taken_by is not None:
            return missed.taken_by
        missed.taken_by = name
        await missed_calls.save(missed)
    await notifier.render_missed(missed)
    return None
