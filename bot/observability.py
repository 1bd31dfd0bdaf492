"""Backlog figures read from Redis at scrape time.

Use :class:`Backlog` where ``/metrics`` is served: :meth:`Backlog.refresh` reads what waits
in Redis (XLEN, XINFO GROUPS, ZCARD and one GET per account, in one round trip) into
:class:`bot.metrics.BacklogGauges` just before the registry is rendered. Nothing is
counted in between scrapes, so the figures cost nothing while nobody looks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.metrics import Metrics
from bot.storage.keys import Keys
from bot.telegram.outbox import Priority

log = logging.getLogger(__name__)

EVENTS_GROUP = "workers"  # the consumer group of the events stream (bot.app)
SENDERS_GROUP = "senders"  # the consumer group of the outbox streams (bot.app)
SCRAPE_TIMEOUT = 2.0  # seconds the backlog read may take before the scrape goes on without it


class Backlog:
    """Sets the backlog gauges of ``metrics`` from Redis; one per served ``/metrics``."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        accounts: Sequence[str],
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._accounts = list(accounts)
        self._metrics = metrics
        self._clock = clock

    async def refresh(self) -> None:
        """Read the backlog into the gauges; when Redis does not answer, say so in
        ``pbxgram_redis_up`` and ``pbxgram_ready`` and keep the last figures."""
        gauges = self._metrics.backlog
        try:
            async with asyncio.timeout(SCRAPE_TIMEOUT):
                answers = await self._read()
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("metrics: the backlog could not be read from Redis: %r", exc)
            gauges.redis_up.set(0)
            self._metrics.ready.set(0)
            return
        gauges.redis_up.set(1)
        self._metrics.ready.set(1)
        self._apply(answers)

    async def _read(self) -> list[Any]:
        keys = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xlen(keys.events_stream())
            pipe.xlen(keys.dead_letters(keys.events_stream()))
            pipe.xlen(keys.dead_letters(keys.outbox(0)))
            pipe.zcard(keys.outbox_delayed())
            pipe.zcard(keys.outbox_stalled())
            for priority in Priority:
                pipe.xlen(keys.outbox(priority))
            for account in self._accounts:
                pipe.get(keys.last_event(account))
            pipe.xinfo_groups(keys.events_stream())
            for priority in Priority:
                pipe.xinfo_groups(keys.outbox(priority))
            # A stream nobody created yet has no groups: that is an empty backlog.
            return list(await pipe.execute(raise_on_error=False))

    def _apply(self, answers: list[Any]) -> None:
        gauges = self._metrics.backlog
        events_length, dead_events, dead_outbox, delayed, stalled = answers[:5]
        gauges.events_length.set(_number(events_length))
        gauges.dead_letters.labels("events").set(_number(dead_events))
        gauges.dead_letters.labels("outbox").set(_number(dead_outbox))
        gauges.outbox_delayed.set(_number(delayed))
        gauges.outbox_stalled.set(_number(stalled))
        outbox_lengths = answers[5 : 5 + len(Priority)]
        rest = answers[5 + len(Priority) :]
        now = self._clock()
        for account, seen in zip(self._accounts, rest, strict=False):
            if isinstance(seen, str | bytes) and seen:
                gauges.last_event_age.labels(account).set(max(0.0, now - float(seen)))
        groups = rest[len(self._accounts) :]
        gauges.events_backlog.set(self._groups("events", groups[0], events_length))
        for priority, info, length in zip(Priority, groups[1:], outbox_lengths, strict=True):
            backlog = self._groups(f"outbox:{int(priority)}", info, length)
            gauges.outbox_backlog.labels(str(int(priority))).set(backlog)

    def _groups(self, stream: str, info: object, length: object) -> float:
        """Set lag and pending of each group of ``stream``; return what waits for the
        workers (or the senders): their lag plus pending, or the whole stream while no
        worker ever created their group."""
        gauges = self._metrics.backlog
        backlog = _number(length)
        for group in info if isinstance(info, list) else []:
            name = _text(group.get("name"))
            group_pending = _number(group.get("pending"))
            gauges.pending.labels(stream, name).set(group_pending)
            group_lag = group.get("lag")
            if group_lag is not None:  # None: Redis cannot tell (entries deleted mid-stream)
                gauges.lag.labels(stream, name).set(_number(group_lag))
            if name in (EVENTS_GROUP, SENDERS_GROUP):
                backlog = group_pending + (_number(group_lag) if group_lag is not None else 0)
        return backlog


def _number(value: object) -> float:
    if isinstance(value, int | float | str | bytes) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
