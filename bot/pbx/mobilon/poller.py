"""Following Mobilon calls to their end: the periodic job that polls the journal and call
info, and emits each call's legs, its one summary and its recording.

:func:`polling_jobs` makes one job per account, run by one worker process at a time. Each
tick polls at most :data:`MAX_CALLS_PER_TICK` due calls, one journal request per day per
tick serving all incoming calls, and one call info request per outgoing call; older calls
are polled less often. Events go into the events stream before the call's state is saved,
so a crash repeats a report (which the pipeline shows once) rather than losing it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from bot.events import PbxEvent
from bot.pbx.base import PbxError, Provider
from bot.pbx.mobilon.followed_calls import FollowedCall, utc
from bot.pbx.mobilon.journal import JournalEntry
from bot.pbx.mobilon.matching import candidates, journal_days
from bot.pbx.mobilon.outcome import finished, recording
from bot.pbx.mobilon.provider import POLLING_JOB, MobilonProvider
from bot.pipeline.stream import EventStream
from bot.runtime.jobs import Job

log = logging.getLogger(__name__)

MAX_CALLS_PER_TICK = 50


@dataclass(frozen=True)
class FollowTiming:
    """How often and how long calls are polled."""

    interval: float = 5.0  # seconds between polls of a fresh call
    give_up: timedelta = timedelta(hours=3)  # no record by then: reported as not answered
    recording_wait: timedelta = timedelta(minutes=15)  # answered, no record_url yet

    def next_poll(self, call: FollowedCall, now: float) -> float:
        age = now - call.opened_at.timestamp()
        factor = 1 if age < 600 else 6 if age < 3600 else 24
        return now + self.interval * factor


class Follower:
    """One tick of polling for one Mobilon account."""

    def __init__(
        self, provider: MobilonProvider, stream: EventStream, timing: FollowTiming
    ) -> None:
        self.provider = provider
        self.account = provider.account.id
        self.stream = stream
        self.timing = timing
        self._journals: dict[str, list[JournalEntry]] = {}

    async def tick(self, now: float | None = None) -> None:
        """Poll every due call once."""
        now = time.time() if now is None else now
        self._journals = {}
        book = self.provider.calls
        for call_id in await book.due(self.account, now, MAX_CALLS_PER_TICK):
            call = await book.load(self.account, call_id)
            if call is None:
                await book.forget(self.account, call_id)
                continue
            try:
                events, updated, next_at = await self._advance(call, now)
            except PbxError as exc:
                log.info("Mobilon %s: polling %s failed (%s)", self.account, call_id, exc)
                await book.schedule(self.account, call_id, now + self.timing.interval * 4)
                continue
            if events:
                await self.stream.put(events)
            if updated != call:
                await book.save(self.account, updated)
            if next_at is None:
                await book.forget(self.account, call_id)
            else:
                await book.schedule(self.account, call_id, next_at)

    async def _advance(
        self, call: FollowedCall, now: float
    ) -> tuple[list[PbxEvent], FollowedCall, float | None]:
        if call.finished_at is not None:
            return await self._await_recording(call, now)
        record = await self._record_of(call)
        overdue = now - call.last_ring.timestamp() > self.timing.give_up.total_seconds()
        if record is None and not overdue:
            return [], call, self.timing.next_poll(call, now)
        if record is None:
            log.warning(
                "Mobilon %s: no record of call %s; reported as not answered",
                self.account,
                call.call_id,
            )
        events, updated = finished(self.account, call, record, utc(now))
        if call.direction == "inbound":
            await self.provider.calls.close_ringing(self.account, call)
        waits = updated.answered and not updated.recording_sent and updated.callid is not None
        return events, updated, (now + self.timing.interval * 2) if waits else None

    async def _record_of(self, call: FollowedCall) -> JournalEntry | None:
        if call.direction == "outbound":
            assert call.callid is not None
            return await self.provider.client.call_info(call.callid)
        records: list[JournalEntry] = []
        for day in journal_days(call, self.provider.mobilon.journal_tz):
            if day not in self._journals:
                self._journals[day] = await self.provider.client.journal(day)
            records.extend(self._journals[day])
        book = self.provider.calls
        for record in candidates(call, records, self.provider.account.region):
            if await book.claim(self.account, record.callid, call.call_id):
                return record
        return None

    async def _await_recording(
        self, call: FollowedCall, now: float
    ) -> tuple[list[PbxEvent], FollowedCall, float | None]:
        assert call.finished_at is not None and call.callid is not None
        if now - call.finished_at.timestamp() > self.timing.recording_wait.total_seconds():
            return [], call, None
        info = await self.provider.client.call_info(call.callid)
        if info is None or not info.record_url:
            return [], call, now + self.timing.interval * 2
        updated = call.model_copy(update={"recording_sent": True})
        return [recording(self.account, updated, utc(now))], updated, None


def polling_jobs(providers: Iterable[Provider], stream: EventStream, interval: float) -> list[Job]:
    """One job per Mobilon account, polling its followed calls every ``interval`` seconds
    (the fresh calls' interval, see :class:`FollowTiming`)."""
    timing = FollowTiming(interval=interval)
    return [
        Job(
            f"{POLLING_JOB}:{p.account.id}",
            Follower(p, stream, timing).tick,
            period=interval,
            once_across_replicas=True,
        )
        for p in providers
        if isinstance(p, MobilonProvider)
    ]
