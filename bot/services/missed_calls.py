"""Missed calls: one record per missed inbound call, open until someone talks to the client.

Each record lists every copy of its alert (chat and outbox slot) so that taking it or
calling back edits all of them. ``ref`` is a short id that fits in button data.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from redis.asyncio import Redis

from bot.storage import Keys

MISSED_TTL = timedelta(days=14)


def missed_ref(account: str, call_id: str) -> str:
    """A short stable id for (account, call) that fits in callback data."""
    return hashlib.sha256(f"{account}\n{call_id}".encode()).hexdigest()[:16]


class MissedCall(BaseModel):
    account: str
    call_id: str
    client_number: str | None = None
    at: datetime
    line_number: str | None = None
    ivr_abandoned: bool = False
    recovered: bool = False  # found in the PBX's call log, not told by its webhooks
    rang: list[str] = []
    copies: list[tuple[int, str]] = []  # (chat id, outbox slot)
    taken_by: str | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    closed_how: str | None = None  # "called_back" | "answered_again"

    @property
    def ref(self) -> str:
        return missed_ref(self.account, self.call_id)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class MissedCalls:
    """Store missed calls and find the open ones for a client number."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, ref: str) -> MissedCall | None:
        raw = await self._redis.get(self._keys.missed(ref))
        return MissedCall.model_validate_json(raw) if raw else None

    async def save(self, missed: MissedCall) -> None:
        day = _utc_day(missed.at)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.missed(missed.ref), missed.model_dump_json(), ex=MISSED_TTL)
            pipe.zadd(
                self._keys.missed_day(missed.account, day), {missed.ref: missed.at.timestamp()}
            )
            pipe.expire(self._keys.missed_day(missed.account, day), MISSED_TTL)
            if missed.client_number:
                index = self._keys.missed_open(missed.account, missed.client_number)
                if missed.is_open:
                    pipe.sadd(index, missed.ref)
                    pipe.expire(index, MISSED_TTL)
                else:
                    pipe.srem(index, missed.ref)
            await pipe.execute()

    async def open_for(self, account: str, number: str) -> list[MissedCall]:
        refs = await self._redis.smembers(self._keys.missed_open(account, number))
        found = [await self.get(str(ref)) for ref in sorted(refs)]
        return [m for m in found if m is not None and m.is_open]

    async def between(self, account: str, start: datetime, end: datetime) -> list[MissedCall]:
        """Oldest first: the missed calls of [start, end), e.g. one local day."""
        found: list[MissedCall] = []
        day = start.astimezone(UTC).date()
        while day <= end.astimezone(UTC).date():
            refs = await self._redis.zrange(self._keys.missed_day(account, day.isoformat()), 0, -1)
            for ref in refs:
                missed = await self.get(str(ref))
                if missed is not None and start <= missed.at < end:
                    found.append(missed)
            day += timedelta(days=1)
        return sorted(found, key=lambda missed: missed.at)


def _utc_day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")
