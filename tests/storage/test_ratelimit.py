"""The shared rate limiter: many concurrent waiters stay inside the window and all get through."""

from __future__ import annotations

import asyncio
import time

import pytest
from limits import parse
from redis.asyncio import Redis

from bot.ratelimit import RateLimitTimeout, SharedRateLimiter


async def test_concurrent_waiters_keep_the_limit(redis: Redis) -> None:
    limiter = SharedRateLimiter(redis, prefix="test:limits")
    item = parse("10/second")
    granted: list[float] = []

    async def one() -> None:
        await limiter.acquire(item, "global", max_wait=10)
        granted.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(30)))
    granted.sort()
    assert len(granted) == 30
    for index in range(10, 30):  # any 11 grants span more than the one-second window
        assert granted[index] - granted[index - 10] >= 0.95
    assert granted[-1] - granted[0] < 4.0  # and nobody waited much longer than needed


async def test_waiting_longer_than_allowed_times_out(redis: Redis) -> None:
    limiter = SharedRateLimiter(redis, prefix="test:limits")
    item = parse("1/minute")
    await limiter.acquire(item, "chat", "1")
    started = time.monotonic()
    with pytest.raises(RateLimitTimeout):
        await limiter.acquire(item, "chat", "1", max_wait=0.3)
    assert time.monotonic() - started < 1.0
    assert await limiter.try_acquire(item, "chat", "2")
