"""Moving-window rate limits kept in Redis, so every replica shares them.

Use :class:`SharedRateLimiter.acquire` before a request to an API with published limits;
it waits until a slot is free.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from limits import RateLimitItem
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from bot.runtime.keyed_locks import KeyedLocks

# KEYS[1] a cooldown nobody may write through while it lasts, KEYS[2..] moving windows
# (lists of Unix times, newest first, as the ``limits`` package keeps them); ARGV[1] now,
# then each window's limit and length (s). Takes a slot in every window, or in none.
_TAKE_ALL = """
if redis.call('PTTL', KEYS[1]) > 0 then
  return 0
end
local now = tonumber(ARGV[1])
for i = 2, #KEYS do
  local limit = tonumber(ARGV[2 * i - 2])
  local entry = redis.call('LINDEX', KEYS[i], limit - 1)
  if entry and tonumber(entry) >= now - tonumber(ARGV[2 * i - 1]) then
    return 0
  end
end
for i = 2, #KEYS do
  redis.call('LPUSH', KEYS[i], ARGV[1])
  redis.call('LTRIM', KEYS[i], 0, tonumber(ARGV[2 * i - 2]) - 1)
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 1])
end
return 1
"""

Take = tuple[RateLimitItem, Sequence[str]]


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
        self._prefix = prefix
        self._take_all = redis.register_script(_TAKE_ALL)
        # Waiters of this process queue for each limit locally, so only the first asks Redis
        # while the others wait their turn: no herd of polls after every free slot, and a
        # slot is used the moment it is granted.
        self._queues = KeyedLocks()

    async def try_take_all(self, takes: Sequence[Take], *, unless: str) -> bool:
        """Take a slot in every limit at once if each has one free now and the key
        ``unless`` (a cooldown) is not set; in one round trip. False: nothing was taken,
        wait the usual way (:meth:`acquire`)."""
        keys = [unless]
        args: list[float | int] = [time.time()]
        for item, identifiers in takes:
            keys.append(f"{self._prefix}:{item.key_for(*identifiers)}")
            args += [item.amount, item.get_expiry()]
        return bool(await self._take_all(keys=keys, args=args))

    async def try_acquire(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Take a slot if one is free now."""
        return await self._limiter.hit(item, *identifiers)

    async def acquire(
        self, item: RateLimitItem, *identifiers: str, max_wait: float = 30.0, margin: float = 0.0
    ) -> None:
        """Wait for a slot; RateLimitTimeout if none frees up within ``max_wait`` seconds.

        ``margin``: when the window is full, wait this much longer than the moment a slot
        frees up, for a server that counts requests when they arrive (network jitter).
        """
        deadline = time.monotonic() + max_wait
        key = "/".join((item.key_for(), *identifiers))
        try:
            async with asyncio.timeout(max_wait), self._queues.hold(key):
                await self._take(item, identifiers, deadline, margin)
        except TimeoutError:
            raise RateLimitTimeout(f"no slot for {item} within {max_wait:.0f}s") from None

    async def wait_room(
        self, item: RateLimitItem, *identifiers: str, max_wait: float = 30.0, margin: float = 0.0
    ) -> None:
        """Wait until a slot is free without taking it; RateLimitTimeout after ``max_wait``.

        Use it for a long wait before shorter ones, then :meth:`try_acquire` at the last
        moment, so the slot counts from when the request really goes.
        """
        deadline = time.monotonic() + max_wait
        while not await self._limiter.test(item, *identifiers):
            pause = await self._pause(item, identifiers, margin)
            if time.monotonic() + pause > deadline:
                raise RateLimitTimeout(f"no slot for {item} within {max_wait:.0f}s")
            await asyncio.sleep(pause)

    async def _pause(
        self, item: RateLimitItem, identifiers: tuple[str, ...], margin: float
    ) -> float:
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return min(max(stats.reset_time - time.time(), 0.005), 1.0) + margin

    async def _take(
        self, item: RateLimitItem, identifiers: tuple[str, ...], deadline: float, margin: float
    ) -> None:
        while not await self._limiter.hit(item, *identifiers):
            pause = await self._pause(item, identifiers, margin)
            if time.monotonic() + pause > deadline:
                raise TimeoutError
            await asyncio.sleep(pause)
