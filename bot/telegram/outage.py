"""Waiting out Telegram being unreachable, per outbox slot, for as long as it lasts.

Use :func:`next_try` when a delivery failed because Telegram could not be reached or
answered 5xx after the sender's quick retries: it says when to try again (capped
exponential backoff with jitter), or None once the slot has waited longer than the
outage patience. The slot then waits in line with the others (``Outbox.stall``), so its
stream entry is acknowledged and redelivery counting never turns an outage into dead
letters; the first in line tries Telegram at that time, and once Telegram answers the
whole line goes out in order.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.telegram.dead_letters import Admins
from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox, OutMessage, Priority

FAILURES = "outage_failures"  # slot hash fields, cleared once the slot is delivered
FAILING_SINCE = "outage_since"
OUTAGE_FIELDS = (FAILURES, FAILING_SINCE)


@dataclass(frozen=True)
class OutagePolicy:
    """How long a message waits for Telegram, and how often it asks meanwhile."""

    patience: float = 24 * 3600.0  # seconds; then the message gives up (dead letter)
    cap: float = 60.0  # the longest wait between two tries
    first: float = 1.0  # the wait after the first failure

    def delay(self, failures: int) -> float:
        """The wait before try ``failures + 1``: doubling from ``first`` up to ``cap``,
        each drawn at random from its upper half so slots do not come back in step."""
        ceiling = min(self.cap, self.first * 2 ** min(max(failures - 1, 0), 30))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not secrecy


async def next_try(redis: Redis, slot_key: str, policy: OutagePolicy) -> float | None:
    """Note one more failed try of ``slot_key``; the seconds until the next, or None when
    the slot has waited out the whole patience."""
    now = time.time()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hincrby(slot_key, FAILURES, 1)
        pipe.hsetnx(slot_key, FAILING_SINCE, now)
        pipe.hget(slot_key, FAILING_SINCE)
        failures, _, since = await pipe.execute()
    if now - float(since or now) > policy.patience:
        return None
    return policy.delay(int(failures))


async def note_waiting(redis: Redis, slot_key: str) -> None:
    """Mark ``slot_key`` as waiting for Telegram (if it is not yet), without a try of its
    own: it is late when it goes out, and its patience runs from now."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hsetnx(slot_key, FAILURES, 0)
        pipe.hsetnx(slot_key, FAILING_SINCE, time.time())
        await pipe.execute()


class OutageIncidents:
    """One incident per Telegram outage, shared by every replica: the first sender to meet
    the outage notes when it began; the first to deliver again takes the note and, if the
    outage lasted at least ``notice_after`` seconds, tells each admin once."""

    def __init__(
        self,
        redis: Redis,
        key: str,
        admins: Admins,
        notices: Notices,
        outbox: Outbox,
        *,
        notice_after: float,
        patience: float,
    ) -> None:
        self._redis = redis
        self._key = key
        self._admins = admins
        self._notices = notices
        self._outbox = outbox
        self._notice_after = notice_after
        self._patience = patience

    async def began(self) -> None:
        """Telegram could not be reached (kept if an earlier failure noted it first)."""
        ttl = int(self._patience + 24 * 3600)
        await self._redis.set(self._key, str(time.time()), nx=True, ex=ttl)

    async def ended(self) -> None:
        """A delivery went through: close the incident, if one is open, and tell admins."""
        since = await self._redis.getdel(self._key)
        if since is None:
            return
        began = float(since)
        lasted = time.time() - began
        if lasted < self._notice_after:
            return
        for admin_id in await self._admins():
            t = await self._notices.translator(admin_id)
            text = t("telegram_was_down", minutes=max(1, round(lasted / 60)))
            await self._outbox.put(
                f"telegram-down:{int(began)}:{admin_id}",
                OutMessage(chat_id=admin_id, text=text),
                Priority.DIGEST,
            )
