"""Relay calls: what the PBX has told us about each call so far, and the events it makes.

The relay format sends statuses, not leg events, so the state of each call is kept in
Redis (:class:`CallBook`). :func:`advance` moves a call forward with one request (never
back: a final call stays final, a connected leg never rings again) and :func:`events_of`
renders the whole call as events. The events depend only on the stored call, so a
redelivered or late request yields the very same events (same ``seq``, same times) and
the pipeline changes nothing; each leg's ``seq`` is its stage (1 ringing, 2 connected,
3 disconnected), so it only ever grows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from redis.asyncio import Redis

from bot.events import (
    CallLegEvent,
    CallSummaryEvent,
    Direction,
    LegState,
    Party,
    PbxEvent,
    RecordingEvent,
    RecordingState,
)
from bot.pbx.relay.redis_keys import RelayKeys
from bot.storage import Keys

CALL_TTL_SECONDS = 2 * 24 * 3600
PROVIDER = "relay"


class RelayLeg(BaseModel):
    """One extension the call reached."""

    extension: str
    rang_at: datetime
    connected_at: datetime | None = None
    ended_at: datetime | None = None


class RelayCall(BaseModel):
    """One call as the relay PBX reported it."""

    call_id: str
    pbx_call_id: str | None = None
    direction: Direction
    phone: str
    created_at: datetime
    status: str = "ringing"
    legs: dict[str, RelayLeg] = {}  # by extension, in the order they rang
    answered_by: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    comment: str | None = None
    comment_version: int = 0  # comments received so far: events carry it, the newest wins

    @property
    def finished(self) -> bool:
        return self.ended_at is not None

    @property
    def assignee(self) -> str | None:
        """The extension the call belongs to: who answered, else the only one it rang."""
        if self.answered_by is not None:
            return self.answered_by
        return next(iter(self.legs)) if len(self.legs) == 1 else None


def advance(
    call: RelayCall,
    status: str,
    *,
    ring: list[str],
    answerer: str | None,
    now: datetime,
    final: bool,
) -> None:
    """Apply one request's status: ring ``ring``, connect ``answerer``, or end the call."""
    if call.finished:
        return
    for extension in ring:
        call.legs.setdefault(extension, RelayLeg(extension=extension, rang_at=now))
    if status == "ringing":  # a late "ringing" never moves the status back
        return
    if status == "in-progress" or (status == "answered" and not call.answered_at):
        _connect(call, answerer or call.assignee, now)
    elif answerer is not None and answerer not in call.legs:
        call.legs[answerer] = RelayLeg(extension=answerer, rang_at=now)
    call.status = status
    if final:
        for leg in call.legs.values():
            if leg.ended_at is None:
                leg.ended_at = now
        call.ended_at = now


def _connect(call: RelayCall, answerer: str | None, now: datetime) -> None:
    if call.answered_at is None:
        call.answered_at = now
    if answerer is None:
        return
    leg = call.legs.setdefault(answerer, RelayLeg(extension=answerer, rang_at=now))
    if leg.ended_at is not None or leg.connected_at is not None:
        return
    leg.connected_at = now
    if call.answered_by is None:
        call.answered_by = answerer
    for other in call.legs.values():
        # The others stop ringing; a colleague who was talking was transferred away.
        if other is not leg and other.ended_at is None:
            other.ended_at = now


def answered(call: RelayCall) -> bool:
    return call.answered_at is not None or call.status == "answered"


def events_of(
    call: RelayCall, account: str, raw: dict[str, Any], recordings: list[tuple[str, datetime]]
) -> list[PbxEvent]:
    """Every leg's stages so far, the summary once the call is over, then ``recordings``."""
    events: list[PbxEvent] = []
    common: dict[str, Any] = {"account": account, "provider": PROVIDER, "raw": raw}
    client = Party(number=call.phone)
    for leg in call.legs.values():
        employee = Party(extension=leg.extension)
        caller, callee = (
            (client, employee) if call.direction is Direction.INBOUND else (employee, client)
        )
        stages = [
            (1, LegState.RINGING, leg.rang_at),
            (2, LegState.CONNECTED, leg.connected_at),
            (3, LegState.DISCONNECTED, leg.ended_at),
        ]
        for seq, state, at in stages:
            if at is not None:
                events.append(
                    CallLegEvent(
                        **common,
                        call_id=call.call_id,
                        comment=call.comment,
                        comment_version=call.comment_version,
                        leg_id=f"{call.call_id}:{leg.extension}",
                        seq=seq,
                        state=state,
                        at=at,
                        caller=caller,
                        callee=callee,
                    )
                )
    if call.ended_at is not None:
        employee = Party(extension=call.assignee)
        caller, callee = (
            (client, employee) if call.direction is Direction.INBOUND else (employee, client)
        )
        events.append(
            CallSummaryEvent(
                **common,
                call_id=call.call_id,
                comment=call.comment,
                comment_version=call.comment_version,
                direction=call.direction,
                caller=caller,
                callee=callee,
                created_at=call.created_at,
                answered_at=call.answered_at if answered(call) else None,
                ended_at=call.ended_at,
                answered=answered(call),
            )
        )
    for recording_id, at in recordings:
        events.append(
            RecordingEvent(
                **common,
                recording_id=recording_id,
                state=RecordingState.COMPLETED,
                seq=1,
                call_id=call.call_id,
                extension=call.assignee,
                at=at,
            )
        )
    return events


class UnknownCall(LookupError):
    """An update names a call this account never created (or that has expired)."""


class CallBook:
    """The relay calls of one account in Redis: ids, the PBX's ids, and their state."""

    def __init__(self, redis: Redis, keys: Keys, account: str) -> None:
        self._redis = redis
        self._keys = keys
        self._account = account

    async def id_for_new(self, pbx_call_id: str | None) -> str:
        """Our id for a created call: a new number, or the one this ``pbx_call_id`` already has."""
        issued = str(await self._redis.incr(RelayKeys.of(self._keys, self._account).call_ids()))
        if pbx_call_id is None:
            return issued
        key = RelayKeys.of(self._keys, self._account).pbx_call(pbx_call_id)
        if await self._redis.set(key, issued, nx=True, ex=CALL_TTL_SECONDS):
            return issued
        existing = await self._redis.get(key)
        return str(existing) if existing else issued

    async def id_of(self, call_id: int | None, pbx_call_id: str | None) -> str:
        """Our id for an updated call; UnknownCall if it was never created here."""
        if pbx_call_id is not None:
            found = await self._redis.get(
                RelayKeys.of(self._keys, self._account).pbx_call(pbx_call_id)
            )
            if found is None:
                raise UnknownCall(f"no call with pbx_call_id {pbx_call_id!r}")
            return str(found)
        if call_id is None or not await self._redis.exists(
            RelayKeys.of(self._keys, self._account).call(str(call_id))
        ):
            raise UnknownCall(f"no call with call_id {call_id}")
        return str(call_id)

    @asynccontextmanager
    async def locked(self, call_id: str) -> AsyncIterator[None]:
        """Hold the call's lock (shared by every web replica) while reading and saving it."""
        key = RelayKeys.of(self._keys, self._account).call(call_id)
        async with self._redis.lock(f"{key}:lock", timeout=30, blocking_timeout=30):
            yield

    async def load(self, call_id: str) -> RelayCall | None:
        raw = await self._redis.get(RelayKeys.of(self._keys, self._account).call(call_id))
        return RelayCall.model_validate_json(raw) if raw else None

    async def save(self, call: RelayCall) -> None:
        await self._redis.set(
            RelayKeys.of(self._keys, self._account).call(call.call_id),
            call.model_dump_json(),
            ex=CALL_TTL_SECONDS,
        )
