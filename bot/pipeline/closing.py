"""Ending calls for PBXs that never say a call is over (no "summary" event).

Such a provider sets :attr:`~bot.pbx.base.Provider.summary_grace`. Whenever a leg event
leaves every leg of a call ended, :meth:`CallCloser.watch` schedules the call to be closed
``grace`` seconds after its last leg ended; the job from :func:`closing_jobs` takes due
calls (one replica each: ``ZREM`` decides) and, if no leg rang again meanwhile, stores one
:class:`~bot.events.CallSummaryEvent` built from the session in the events stream. From there
missed alerts, summaries and cards work exactly as for a PBX that sends summaries.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime

from redis.asyncio import Redis

from bot.events import CallSummaryEvent, Direction, LegState, Party
from bot.pipeline.sessions import CallSession, SessionStore
from bot.pipeline.stream import EventStream
from bot.runtime.jobs import Job
from bot.storage import Keys

POLL_SECONDS = 0.5
BATCH = 100


class CallCloser:
    """Schedules and closes the calls of accounts whose PBX sends no summaries."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        sessions: SessionStore,
        stream: EventStream,
        grace: Mapping[str, float],  # account id -> seconds
        providers: Mapping[str, str],  # account id -> provider id
    ) -> None:
        self._redis = redis
        self._key = keys.calls_closing()
        self._sessions = sessions
        self._stream = stream
        self._grace = dict(grace)
        self._providers = dict(providers)

    def closes(self, account: str) -> bool:
        return account in self._grace

    @property
    def active(self) -> bool:
        """Whether any account needs its calls closed (its PBX sends no summaries)."""
        return bool(self._grace)

    async def watch(self, session: CallSession) -> None:
        """After a leg event: schedule the call when all its legs have ended."""
        if not self.closes(session.account) or session.finished:
            return
        ended = last_end(session)
        if ended is None:
            return
        due = ended.timestamp() + self._grace[session.account]
        await self._redis.zadd(self._key, {_member(session): due})

    async def close_due(self, now: float | None = None) -> int:
        """Close every due call; the number of summaries stored."""
        now = time.time() if now is None else now
        closed = 0
        due = await self._redis.zrangebyscore(self._key, 0, now, start=0, num=BATCH)
        for member in map(str, due):
            if not await self._redis.zrem(self._key, member):
                continue  # another replica took it
            account, _, call_id = member.partition(" ")
            try:
                closed += await self._close(account, call_id, now)
            except Exception:
                await self._redis.zadd(self._key, {member: now + 1})
                raise
        return closed

    async def _close(self, account: str, call_id: str, now: float) -> int:
        session = await self._sessions.get(account, call_id)
        if session is None or session.finished or account not in self._grace:
            return 0
        ended = last_end(session)
        if ended is None:
            return 0  # a leg rang again: it schedules the call when it ends
        due = ended.timestamp() + self._grace[account]
        if due > now:
            await self._redis.zadd(self._key, {_member(session): due})
            return 0
        await self._stream.put([summary_of(session, self._providers.get(account, ""), ended)])
        return 1


def last_end(session: CallSession) -> datetime | None:
    """When the last leg ended, if every leg has ended (None while any is still live)."""
    if not session.legs or any(
        leg.state is not LegState.DISCONNECTED for leg in session.legs.values()
    ):
        return None
    ends = [leg.ended_at for leg in session.legs.values() if leg.ended_at is not None]
    return max(ends) if ends else None


def summary_of(session: CallSession, provider: str, ended: datetime) -> CallSummaryEvent:
    """The summary the PBX would have sent, from what the legs told."""
    employee = Party(extension=session.answered_by or (session.rang[0] if session.rang else None))
    client = Party(number=session.client_number)
    if session.direction is Direction.OUTBOUND:
        caller, callee = employee, client
    elif session.direction is Direction.INTERNAL:
        others = [e for e in session.rang if e != employee.extension]
        caller, callee = Party(extension=others[0] if others else None), employee
    else:
        caller, callee = client, employee
    started = session.started_at or min(leg.started_at for leg in session.legs.values())
    return CallSummaryEvent(
        account=session.account,
        provider=provider,
        call_id=session.call_id,
        direction=session.direction,
        caller=caller,
        callee=callee,
        line_number=session.line_number,
        created_at=started,
        answered_at=session.talked_at,
        ended_at=ended,
        answered=session.talked_at is not None,
        received_at=datetime.now(UTC),
    )


def _member(session: CallSession) -> str:
    return f"{session.account} {session.call_id}"


def closing_jobs(closer: CallCloser) -> list[Job]:
    """The job that closes due calls; none when every PBX here sends its own summaries."""
    if not closer.active:
        return []
    return [Job("close-calls", closer.close_due, period=POLL_SECONDS)]
