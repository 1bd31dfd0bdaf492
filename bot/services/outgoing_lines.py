"""The line a call placed from Telegram goes out on.

Where the PBX lets a call choose its line (MANGO's ``line_number``), a person may pick one
with ``/line``; otherwise a call back goes out on the line the client last called in on,
and anything else on the PBX's default. Use :meth:`OutgoingLines.for_call` when placing
a call.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain import Link
from bot.events import Direction
from bot.services.call_log import CallLog
from bot.storage import Keys

RECENT_CALLS = 5  # of the client's latest calls, the newest inbound one names the line


class OutgoingLines:
    """Each person's chosen line, and the line a call should go out on."""

    def __init__(self, redis: Redis, keys: Keys, call_log: CallLog) -> None:
        self._redis = redis
        self._keys = keys
        self._call_log = call_log

    async def chosen(self, link: Link) -> str | None:
        raw = await self._redis.get(self._keys.outgoing_line(link.account, link.telegram_id))
        return str(raw) if raw else None

    async def choose(self, link: Link, line: str | None) -> None:
        """Call out from ``line`` from now on; None: the PBX's default again."""
        key = self._keys.outgoing_line(link.account, link.telegram_id)
        if line is None:
            await self._redis.delete(key)
        else:
            await self._redis.set(key, line)

    async def for_call(self, link: Link, number: str) -> str | None:
        """The person's line, else the line ``number`` last called in on, else None."""
        chosen = await self.chosen(link)
        if chosen is not None:
            return chosen
        for call in await self._call_log.recent(link.account, number=number, limit=RECENT_CALLS):
            if call.direction is Direction.INBOUND and call.line_number:
                return call.line_number
        return None
