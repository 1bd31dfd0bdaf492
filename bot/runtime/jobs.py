"""Periodic background work: declare a :class:`Job`, and let one :class:`JobRunner` per
worker process run every job until the process stops.

The runner ticks each job, waits the job's period, and ticks it again. A tick that raises
is logged and counted; the job goes on with its next period. When ``stop`` is set no new
tick starts and every wait ends at once.

A job declared ``once_across_replicas`` runs in one worker process at a time: the runner
holding its lease (:func:`bot.storage.lease.lease`, under :meth:`Keys.job_lease`) ticks it,
the others try for the lease once a period and take over when the holder stops (it lets
go at once) or dies (its lease expires). Work that must also keep a cadence over restarts
and takeovers, or happen once per item, keeps its own marker keys in its tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError

from bot.metrics import Metrics
from bot.storage.keys import Keys
from bot.storage.lease import LEASE_SECONDS, lease

log = logging.getLogger(__name__)

Tick = Callable[[], Awaitable[object]]  # one round of a job's work; what it returns is ignored
Schedule = Callable[[], float]  # seconds from the end of one tick to the start of the next


@dataclass(frozen=True)
class Job:
    """One piece of periodic work. Build it where its dependencies are known, and leave
    out a job with nothing to do (no account of its kind) rather than one that idles."""

    name: str  # unique per process; names its lease, its metrics and its task
    tick: Tick
    period: float | Schedule  # seconds between ticks, or a schedule asked after each tick
    once_across_replicas: bool = False

    def delay(self) -> float:
        """Seconds to wait before the next tick."""
        return max(0.0, self.period() if callable(self.period) else self.period)


class JobRunner:
    """Runs a process's jobs until ``stop``; start :meth:`run` as one task."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        metrics: Metrics,
        jobs: Iterable[Job],
        *,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._metrics = metrics
        self._lease_seconds = lease_seconds
        self.jobs = list(jobs)
        names = [job.name for job in self.jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names repeat: {names}")
        for name in names:  # exported from the start, so a job that never failed shows 0
            metrics.job_runs.labels(name)
            metrics.job_failures.labels(name)

    async def run(self, stop: asyncio.Event) -> None:
        """Run every job until ``stop`` is set; returns only then, even with no jobs (a
        worker process stops when any of its tasks ends)."""
        async with asyncio.TaskGroup() as group:
            for job in self.jobs:
                work = self._lead(job, stop) if job.once_across_replicas else self._ticks(job, stop)
                group.create_task(work, name=f"job {job.name}")
        await stop.wait()

    async def _ticks(
        self, job: Job, stop: asyncio.Event, lost: asyncio.Event | None = None
    ) -> None:
        """Tick ``job`` every period until ``stop`` (or until ``lost`` is set)."""
        while not stop.is_set() and not (lost is not None and lost.is_set()):
            await self._tick(job)
            await _pause(job.delay(), stop, lost)

    async def _tick(self, job: Job) -> None:
        self._metrics.job_runs.labels(job.name).inc()
        try:
            await job.tick()
        except Exception:  # the job outlives a bad tick
            self._metrics.job_failures.labels(job.name).inc()
            log.exception("job %s failed; it runs again in its next period", job.name)
        else:
            self._metrics.job_last_success.labels(job.name).set_to_current_time()

    async def _lead(self, job: Job, stop: asyncio.Event) -> None:
        """Tick ``job`` while this process holds its lease; otherwise try once a period."""
        key = self._keys.job_lease(job.name)
        while not stop.is_set():
            # After Redis was out of reach the job is sought again soon, not a period later:
            # what went wrong meanwhile (webhooks refused) is what it may have to catch up on.
            soon = False
            try:
                async with lease(self._redis, key, wait=0, ttl=self._lease_seconds) as held:
                    log.info("job %s runs in this process", job.name)
                    await self._ticks(job, stop, held.lost)
                    if held.lost.is_set():
                        log.warning("job %s: its lease expired; it runs where it is held", job.name)
                        soon = True
            except LockError:
                pass  # another process runs it (or the lease expired under this one)
            except RedisError as exc:
                log.warning("job %s: its lease is out of reach: %r", job.name, exc)
                soon = True
            except Exception:  # the job outlives its lease's troubles too
                log.exception("job %s: holding its lease failed", job.name)
            await _pause(min(job.delay(), self._lease_seconds) if soon else job.delay(), stop)


async def _pause(seconds: float, *events: asyncio.Event | None) -> None:
    """Wait ``seconds``, or less when any of ``events`` is set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events if event is not None]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
