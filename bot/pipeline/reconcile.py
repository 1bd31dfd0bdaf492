"""Reconciliation: the PBX's own call log as the source of truth for what pbxgram missed.

While pbxgram, its Redis or the network is down, the PBX's webhooks fail, and the calls
they told of are never alerted. They still sit in the PBX's call log. The job from
:func:`reconcile_jobs` reads it for every account whose provider has
:attr:`~bot.pbx.base.Capability.CALL_HISTORY`: every ``period`` the last ``lookback``, and
on its first run in a process also from ``lookback`` before the account's last event seen
(:meth:`~bot.storage.Keys.last_event`, written with each session) up to ``startup_max``.

Each call of the log that pbxgram did not see end becomes one
:class:`~bot.events.CallSummaryEvent` marked ``recovered`` on the events stream, under the id
the provider's :meth:`~bot.pbx.base.Provider.log_call_id` matches to its webhooks' calls. The
ordinary worker then makes every decision: a missed inbound call gets the normal alert
(once, as it shares the webhook's session and alert slots), an answered one goes to the call
log. A call the worker already closed is left alone, so a second run recovers nothing new.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.domain import CallRecord
from bot.events import CallSummaryEvent, Direction, Party
from bot.pbx.base import Capability, Provider
from bot.pbx.errors import PbxError
from bot.pbx.providers import Providers
from bot.pipeline.sessions import SessionStore
from bot.pipeline.stream import EventStream
from bot.runtime.jobs import Job
from bot.storage import Keys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileTiming:
    """How often and how far back the call logs are read."""

    period: float = 300.0  # seconds between runs
    lookback: float = 2 * 3600.0  # how far back each run reads
    startup_max: float = 24 * 3600.0  # the furthest back the first run after start-up reads
    settle: float = 60.0  # a call that ended this recently may still come by webhook
    enabled: bool = True  # off: no job (tests that do not read the call logs)


class Reconciler:
    """Reads the PBXs' call logs and puts the calls pbxgram never closed on the stream."""

    def __init__(
        self,
        *,
        redis: Redis,
        keys: Keys,
        providers: Providers,
        sessions: SessionStore,
        stream: EventStream,
        timing: ReconcileTiming,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._providers = [p for p in providers if p.supports(Capability.CALL_HISTORY)]
        self._sessions = sessions
        self._stream = stream
        self.timing = timing
        self._caught_up: set[str] = set()  # accounts read since this process started
        self._settles_at: float | None = None  # a call left to its webhooks last round

    @property
    def active(self) -> bool:
        return bool(self._providers)

    def next_round(self) -> float:
        """Seconds until the next round: the period, or sooner when a call of the last
        round was left to its webhooks (so a call missed just before an outage ended is
        not a whole period late)."""
        if self._settles_at is None:
            return self.timing.period
        return min(self.timing.period, max(1.0, self._settles_at - time.time() + 1.0))

    async def run(self, now: float | None = None) -> int:
        """One round over every account with a call log; the number of calls recovered."""
        now = time.time() if now is None else now
        recovered = 0
        self._settles_at = None
        for provider in self._providers:
            try:
                recovered += await self.reconcile(provider, now)
            except PbxError as exc:  # one PBX out of reach leaves the others' logs read
                log.warning("reading the call log of %s failed: %s", provider.account.id, exc)
            except Exception:
                log.exception("reading the call log of %s failed", provider.account.id)
        return recovered

    async def reconcile(self, provider: Provider, now: float) -> int:
        """Recover the calls of one account's log that pbxgram never saw end."""
        account = provider.account.id
        start = await self._window_start(account, now)
        records = await provider.call_history(
            datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(now, UTC)
        )
        calls: dict[str, list[CallRecord]] = {}
        for record in records:
            calls.setdefault(await provider.log_call_id(record), []).append(record)
        events: list[CallSummaryEvent] = []
        for call_id, rows in calls.items():
            event = await self._recover(provider, call_id, merged(rows), now)
            if event is not None:
                events.append(event)
        await self._stream.put(events)
        await self._redis.set(self._keys.reconciled(account), f"{now:.0f} {len(events)}")
        self._caught_up.add(account)
        if events:
            log.info("recovered %d calls of %s from its call log", len(events), account)
        return len(events)

    async def _window_start(self, account: str, now: float) -> float:
        start = now - self.timing.lookback
        if account in self._caught_up:
            return start
        seen = await self._redis.get(self._keys.last_event(account))
        if seen is None:
            return start
        since = float(seen) - self.timing.lookback  # calls long under way at the last event
        return max(now - self.timing.startup_max, min(start, since))

    async def _recover(
        self, provider: Provider, call_id: str, record: CallRecord, now: float
    ) -> CallSummaryEvent | None:
        ended = record.ended_at or record.started_at + timedelta(seconds=record.talk_seconds)
        if self.timing.settle and ended.timestamp() > now - self.timing.settle:
            settles = ended.timestamp() + self.timing.settle
            self._settles_at = min(self._settles_at or settles, settles)
            return None  # its webhooks may still be on their way; looked at again then
        session = await self._sessions.get(provider.account.id, call_id)
        if session is not None and session.finished:
            return None  # seen end to end: alerted (or logged) already
        return recovered_summary(provider, record, call_id, ended)


def merged(records: list[CallRecord]) -> CallRecord:
    """One record for one call: a PBX that logs every leg (MTS) has several rows for it,
    one per extension it rang; the answered row names who talked."""
    first = min(records, key=lambda record: record.started_at)
    answered = [record for record in records if record.answered]
    main = answered[0] if answered else first
    rang = (
        extension
        for record in records
        for extension in record.rang
        or ((record.extension,) if record.extension and record.direction != "outbound" else ())
    )
    ends = [record.ended_at for record in records if record.ended_at is not None]
    return main.model_copy(
        update={
            "started_at": first.started_at,
            "ended_at": max(ends) if ends else main.ended_at,
            "rang": tuple(dict.fromkeys(rang)),
            "rang_unknown": all(record.rang_unknown for record in records),
        }
    )


def recovered_summary(
    provider: Provider, record: CallRecord, call_id: str, ended: datetime
) -> CallSummaryEvent:
    """The summary the webhooks would have brought, from a record of the call log."""
    try:
        direction = Direction(record.direction)
    except ValueError:
        direction = Direction.UNKNOWN
    employee = Party(extension=record.extension)
    if direction is Direction.OUTBOUND:
        caller, callee = (
            Party(extension=record.extension, number=record.caller),
            Party(number=record.callee),
        )
    elif direction is Direction.INTERNAL:
        caller, callee = Party(number=record.caller), employee
    else:
        caller, callee = (
            Party(number=record.caller),
            Party(extension=record.extension, number=record.callee or None),
        )
    answered_at = ended - timedelta(seconds=record.talk_seconds) if record.answered else None
    return CallSummaryEvent(
        account=provider.account.id,
        provider=provider.id,
        call_id=call_id,
        direction=direction,
        caller=caller,
        callee=callee,
        line_number=record.line_number,
        created_at=record.started_at,
        answered_at=answered_at,
        ended_at=ended,
        answered=record.answered,
        recovered=True,
        rang=record.rang,
        rang_unknown=record.rang_unknown,
        raw={"call_log": record.model_dump(mode="json")},
    )


def reconcile_jobs(reconciler: Reconciler) -> list[Job]:
    """The reconciliation job; none when no PBX here keeps a call log pbxgram can read."""
    if not reconciler.active or not reconciler.timing.enabled:
        return []
    return [
        Job("reconcile", reconciler.run, period=reconciler.next_round, once_across_replicas=True)
    ]
