"""Moving-window rate limits kept in Redis, so every replica shares them.

Use :class:`SharedRateLimiter.acquire` before a request to an API with published limits;
it waits until a slot is free.
"""

from __future__ import annotations

import asyncio
import time

from limits import RateLimitItem
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis


class RateLimitTimeout(Exception):
    """No slot freed up within the allowed wait."""


class SharedRateLimiter:
    """Limits by (item, identifiers) over the app's Redis connection pool."""

    def __init__(self, redis: Redis, prefix: str = "pbxgram:limits") -> None:
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # narrow stub
            key_prefix=prefix,
        )
        self._limiter = MovingWindowRateLimiter(storage)

    async def try_acquire(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Take a slot if one is free now."""
        return await self._limiter.hit(item, *identifiers)

    async def acquire(self, item: RateLimitItem, *identifiers: str, max_wait: float = 30.0) -> None:
        """Wait for a slot; RateLimitTimeout if none frees up within ``max_wait`` seconds."""
        deadline = time.monotonic() + max_wait
        while not await self._limiter.hit(item, *identifiers):
            stats = await self._limiter.get_window_stats(item, *identifiers)
            pause = min(max(stats.reset_time - time.time(), 0.01), 1.0)
            if time.monotonic() + pause > deadline:
                raise RateLimitTimeout(f"no slot for {item} within {max_wait:.0f}s")
            await asyncio.sleep(pause)
