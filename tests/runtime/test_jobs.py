"""The job runner against a real Redis: ticks at the period, outlives a failing tick and
counts it, stops at once, and runs a once-across-replicas job in one runner at a time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

from bot.metrics import Metrics
from bot.runtime import Job, JobRunner
from bot.storage import Keys
from tests.helpers import until

KEYS = Keys()


class Ticks:
    """A job's tick that records when it ran; it raises on the ticks listed in ``failing``."""

    def __init__(self, failing: tuple[int, ...] = ()) -> None:
        self.at: list[float] = []
        self.failing = failing

    async def __call__(self) -> None:
        self.at.append(time.monotonic())
        if len(self.at) in self.failing:
            raise RuntimeError(f"tick {len(self.at)} broke")

    def __len__(self) -> int:
        return len(self.at)


@asynccontextmanager
async def started(runner: JobRunner) -> AsyncIterator[asyncio.Event]:
    """Run ``runner`` until the block ends; yields its stop event, which a test may set."""
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def sample(metrics: Metrics, name: str, job: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"job": job})


async def test_ticks_at_the_period(redis: Redis) -> None:
    ticks = Ticks()
    runner = JobRunner(redis, KEYS, Metrics(), [Job("steady", ticks, period=0.1)])
    async with started(runner):
        await until(lambda: len(ticks) >= 4)

    gaps = [b - a for a, b in zip(ticks.at, ticks.at[1:], strict=False)]
    assert min(gaps) >= 0.09, gaps  # never sooner than the period


async def test_a_schedule_is_asked_after_each_tick(redis: Redis) -> None:
    ticks = Ticks()
    waits = iter([0.3, 0.0, 0.0])

    def schedule() -> float:
        return next(waits, 3600.0)

    runner = JobRunner(redis, KEYS, Metrics(), [Job("scheduled", ticks, period=schedule)])
    async with started(runner):
        await until(lambda: len(ticks) == 4)
        await asyncio.sleep(0.2)
        assert len(ticks) == 4  # the fourth wait is an hour

    assert ticks.at[1] - ticks.at[0] >= 0.29


async def test_a_failing_tick_is_logged_counted_and_outlived(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="bot.runtime")
    metrics = Metrics()
    ticks = Ticks(failing=(1, 3))
    runner = JobRunner(redis, KEYS, metrics, [Job("flaky", ticks, period=0.02)])
    assert sample(metrics, "pbxgram_job_failures_total", "flaky") == 0  # shown before any tick
    async with started(runner):
        await until(lambda: len(ticks) >= 5)
        before = time.time()
        await until(lambda: len(ticks) >= 7)

    runs = sample(metrics, "pbxgram_job_runs_total", "flaky")
    assert runs == len(ticks)
    assert sample(metrics, "pbxgram_job_failures_total", "flaky") == 2
    last_success = sample(metrics, "pbxgram_job_last_success_timestamp_seconds", "flaky")
    assert last_success is not None and last_success >= before
    failures = [r for r in caplog.records if "job flaky failed" in r.getMessage()]
    assert len(failures) == 2
    assert all(r.exc_info is not None for r in failures)
    assert "tick 3 broke" in caplog.text


async def test_stop_ends_the_waits_at_once(redis: Redis) -> None:
    hourly, leased = Ticks(), Ticks()
    jobs = [
        Job("hourly", hourly, period=3600),
        Job("leased", leased, period=3600, once_across_replicas=True),
    ]
    stop = asyncio.Event()
    task = asyncio.create_task(JobRunner(redis, KEYS, Metrics(), jobs).run(stop))
    await until(lambda: len(hourly) == 1 and len(leased) == 1)
    assert not task.done()

    started_at = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - started_at < 1.0
    assert await redis.exists(KEYS.job_lease("leased")) == 0  # let go for the next runner


async def test_a_runner_with_no_jobs_runs_until_stop(redis: Redis) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(JobRunner(redis, KEYS, Metrics(), []).run(stop))
    done, _ = await asyncio.wait({task}, timeout=0.2)
    assert not done, "the runner ended before stop: the process would stop with it"
    stop.set()
    await asyncio.wait_for(task, 1)


def test_job_names_are_unique(redis: Redis) -> None:
    jobs = [Job("same", Ticks(), period=1), Job("same", Ticks(), period=2)]
    with pytest.raises(ValueError, match="same"):
        JobRunner(redis, KEYS, Metrics(), jobs)


class Replica:
    """One runner of a shared, once-across-replicas job; records which replica ticked."""

    def __init__(self, redis: Redis, name: str, log: list[str], **runner: float) -> None:
        async def tick() -> None:
            log.append(name)

        job = Job("shared", tick, period=0.02, once_across_replicas=True)
        self.runner = JobRunner(redis, KEYS, Metrics(), [job], **runner)


async def test_a_shared_job_runs_in_one_runner_and_the_other_takes_over(redis: Redis) -> None:
    log: list[str] = []
    first, second = Replica(redis, "first", log), Replica(redis, "second", log)
    async with started(first.runner) as stop_first:
        await until(lambda: len(log) >= 1)
        async with started(second.runner):
            await until(lambda: len(log) >= 20)
            assert set(log) == {"first"}, "both runners ran the job"

            stop_first.set()
            await until(lambda: "second" in log, patience=5, what="nobody took over")
            taken = log.index("second")
            await until(lambda: len(log) >= taken + 10)
            assert set(log[taken:]) == {"second"}, "the stopped runner went on"


async def test_a_runner_whose_lease_was_taken_stops_until_it_is_free(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.runtime")
    log: list[str] = []
    replica = Replica(redis, "only", log, lease_seconds=0.3)
    async with started(replica.runner):
        await until(lambda: len(log) >= 3)
        await redis.set(KEYS.job_lease("shared"), "another-replica", px=60_000)
        await until(lambda: "its lease expired" in caplog.text, patience=5)
        stopped_at = len(log)
        await asyncio.sleep(0.3)
        assert len(log) == stopped_at, "it went on beside the lease holder"

        await redis.delete(KEYS.job_lease("shared"))  # the other replica is gone
        await until(lambda: len(log) > stopped_at, patience=5, what="it did not take over")


async def test_a_lease_lost_to_an_outage_is_sought_again_soon_not_a_period_later(
    redis: Redis,
) -> None:
    log: list[str] = []

    async def tick() -> None:
        log.append("tick")

    job = Job("shared", tick, period=3600, once_across_replicas=True)
    runner = JobRunner(redis, KEYS, Metrics(), [job], lease_seconds=0.3)
    async with started(runner):
        await until(lambda: len(log) == 1)
        await redis.delete(KEYS.job_lease("shared"))  # as if Redis had lost it meanwhile
        await until(lambda: len(log) == 2, patience=5, what="it waited the whole period")
