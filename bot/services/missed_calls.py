"""Missed calls: one record per missed inbound call, open until someone talks to the client
(or says no call back is needed).

Each record lists every copy of its alert (chat and outbox slot) so that taking it or
calling back edits all of them. ``ref`` is a short id that fits in button data. An open
record with a step of the callback ladder still to come (a reminder, an escalation) is
kept in a sorted set by the step's due time, which the ladder job reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.accounts import AccountBase
from bot.domain import CallContext, CallerId, CallNote
from bot.storage import Keys

MISSED_TTL = timedelta(days=14)
LOCK_SECONDS = 10


class NoCallBack(StrEnum):
    """Why somebody said a missed call needs no call back."""

    SPAM = "spam"
    WRONG_NUMBER = "wrong_number"
    SOLVED = "solved"


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
    group: str | None = None  # the ring group (its extension) that missed the call
    caller: CallerId | None = None
    context: CallContext | None = None
    menu: str | None = None  # the digits pressed in the voice menu
    notes: list[CallNote] = []
    tags: list[str] = []
    copies: list[tuple[int, str]] = []  # (chat id, outbox slot)
    taken_by: str | None = None
    taken_by_chat: int | None = None  # the private chat of whoever took it
    closed_by: str | None = None
    closed_by_extension: str | None = None  # whose call (or press) closed it
    closed_at: datetime | None = None
    closed_how: str | None = None  # "called_back" | "answered_again" | "no_call_back"
    no_call_back: NoCallBack | None = None  # the reason, when closed as not needed
    # The same number calling again while this one is open: its calls, and when it last did.
    repeats: list[str] = []
    last_at: datetime | None = None
    # The callback ladder: when a reminder and the managers' escalation are due, and
    # whether they went out.
    remind_at: datetime | None = None
    escalate_at: datetime | None = None
    reminded: bool = False
    escalated: bool = False
    # The text to the caller (``missed_sms``): when it is due, and whether it was seen to.
    sms_at: datetime | None = None
    sms_done: bool = False

    @property
    def ref(self) -> str:
        return missed_ref(self.account, self.call_id)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def times_called(self) -> int:
        return 1 + len(self.repeats)

    @property
    def next_step_at(self) -> datetime | None:
        """When the ladder's next step is due; None once there is none (or it is closed)."""
        if not self.is_open:
            return None
        steps = [
            (self.sms_at, self.sms_done),
            (self.remind_at, self.reminded),
            (self.escalate_at, self.escalated),
        ]
        return min((at for at, done in steps if at is not None and not done), default=None)

    def copy_in(self, chat_id: int) -> str | None:
        """The outbox slot of the alert's copy in ``chat_id``, if it has one."""
        return next((slot for chat, slot in self.copies if chat == chat_id), None)

    def overdue(self, now: datetime) -> bool:
        """Open past its call-back deadline."""
        return self.is_open and self.remind_at is not None and self.remind_at <= now


class SpamMark(BaseModel):
    """A number marked as spam: by whom and when."""

    number: str
    by: str = ""
    at: datetime = datetime(1970, 1, 1, tzinfo=UTC)


class MissedCalls:
    """Store missed calls and find the open ones for a client number."""

    def __init__(self, redis: Redis, keys: Keys, *, retention: timedelta = MISSED_TTL) -> None:
        self._redis = redis
        self._keys = keys
        self.retention = min(retention, MISSED_TTL)  # never longer than they were kept

    async def get(self, ref: str) -> MissedCall | None:
        raw = await self._redis.get(self._keys.missed(ref))
        return MissedCall.model_validate_json(raw) if raw else None

    async def save(self, missed: MissedCall) -> None:
        day = _utc_day(missed.at)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.missed(missed.ref), missed.model_dump_json(), ex=self.retention)
            pipe.zadd(
                self._keys.missed_day(missed.account, day), {missed.ref: missed.at.timestamp()}
            )
            pipe.expire(self._keys.missed_day(missed.account, day), self.retention)
            if missed.client_number:
                index = self._keys.missed_open(missed.account, missed.client_number)
                if missed.is_open:
                    pipe.sadd(index, missed.ref)
                    pipe.expire(index, self.retention)
                else:
                    pipe.srem(index, missed.ref)
            due = missed.next_step_at
            if due is not None:
                pipe.zadd(self._keys.missed_due(), {missed.ref: due.timestamp()})
            else:
                pipe.zrem(self._keys.missed_due(), missed.ref)
            await pipe.execute()

    @asynccontextmanager
    async def locked(self, ref: str) -> AsyncIterator[None]:
        """Hold the missed call ``ref`` while reading and changing it (get, change, save),
        so two changes at once (taking it, closing it, a ladder step) never undo each other."""
        async with self._redis.lock(self._keys.missed_lock(ref), timeout=LOCK_SECONDS):
            yield

    async def mark_spam(
        self, account: str, number: str, *, by: str = "", at: datetime | None = None
    ) -> None:
        """Somebody said ``number`` is spam: its calls raise no alerts, and it is never
        texted after a missed call."""
        mark = SpamMark(number=number, by=by, at=at or datetime.now(UTC))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(self._keys.spam_numbers(account), number)
            pipe.hsetnx(self._keys.spam_marks(account), number, mark.model_dump_json())
            await pipe.execute()

    async def unmark_spam(self, account: str, number: str) -> bool:
        """``number`` is not spam after all; False if it was not marked."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.srem(self._keys.spam_numbers(account), number)
            pipe.hdel(self._keys.spam_marks(account), number)
            removed, _ = await pipe.execute()
        return bool(removed)

    async def is_spam(self, account: str, number: str) -> bool:
        return bool(await self._redis.sismember(self._keys.spam_numbers(account), number))

    def queue_is_spam(self, pipe: Pipeline, account: str, number: str) -> None:
        """Add :meth:`is_spam`'s read to ``pipe``; its answer is truthy for spam."""
        pipe.sismember(self._keys.spam_numbers(account), number)

    async def spam_list(self, account: str) -> list[SpamMark]:
        """Every number marked as spam, newest mark first."""
        numbers = sorted(await self._redis.smembers(self._keys.spam_numbers(account)))
        if not numbers:
            return []
        raws = await self._redis.hmget(self._keys.spam_marks(account), numbers)
        marks = [
            SpamMark.model_validate_json(raw) if raw else SpamMark(number=str(number))
            for number, raw in zip(numbers, raws, strict=True)
        ]
        return sorted(marks, key=lambda mark: mark.at, reverse=True)

    async def first_text_today(self, account: str, number: str, day: str) -> bool:
        """True the first time ``number`` is to be texted on ``day`` (once a day each)."""
        key = self._keys.missed_sms_sent(account, number, day)
        ttl = min(timedelta(days=2), self.retention)
        return bool(await self._redis.set(key, "1", nx=True, ex=ttl))

    async def forget_due(self, ref: str) -> None:
        """Take ``ref`` off the ladder (its record is gone)."""
        await self._redis.zrem(self._keys.missed_due(), ref)

    async def due(self, now: datetime, limit: int = 100) -> list[str]:
        """Refs of the missed calls whose next ladder step is due by ``now``, oldest first."""
        refs = await self._redis.zrangebyscore(
            self._keys.missed_due(), "-inf", now.timestamp(), start=0, num=limit
        )
        return [str(ref) for ref in refs]

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


def ladder_times(
    at: datetime, account: AccountBase, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """When a call missed ``at`` is due its text to the caller (``missed_sms``: at once, or
    at opening), a reminder (``callback_within``) and its managers' escalation
    (``escalate_after``): those much working time later, so calls missed at night start
    their ladder at opening."""
    local = at.astimezone(zone)
    hours = account.working_hours

    def later(amount: timedelta | None) -> datetime | None:
        if amount is None:
            return None
        return hours.after(local, amount) if hours is not None else local + amount

    sms_at = None
    if account.missed_sms:
        sms_at = hours.next_opening(local) if hours is not None else local
    return sms_at, later(account.callback_within), later(account.escalate_after)


def _utc_day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")
