"""Moving-window rate limits kept in Redis, so every replica shares them.

Use :class:`SharedRateLimiter.acquire` before a request to an API with published limits;
it waits until a slot is free.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from limits import RateLimitItem
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.runtime.keyed_locks import KeyedLocks

# KEYS[1] a cooldown nobody may write through while it lasts, KEYS[2..] moving windows
# (lists of Unix times, newest first, as the ``limits`` package keeps them); ARGV[1] now,
# then each window's limit and length (s). Takes a slot in every window, or in none and
# says which stands in the way (0: the cooldown) and for how many seconds. Having taken,
# it adds for each window how long it is now full (0: there is room). Optionally a lock
# after the windows (its key last in KEYS, its holder's token last in ARGV): then it takes
# only while that lock is the holder's, and otherwise answers as for a cooldown of 0 s.
_TAKE_ALL = """
local windows = #KEYS
if #ARGV == 2 * #KEYS - 2 then
  windows = #KEYS - 1
  if redis.call('GET', KEYS[#KEYS]) ~= ARGV[#ARGV] then
    return {0, 0, '0'}
  end
end
local cooldown = redis.call('PTTL', KEYS[1])
if cooldown > 0 then
  return {0, 0, tostring(cooldown / 1000)}
end
local now = tonumber(ARGV[1])
for i = 2, windows do
  local limit = tonumber(ARGV[2 * i - 2])
  local length = tonumber(ARGV[2 * i - 1])
  local entry = redis.call('LINDEX', KEYS[i], limit - 1)
  if entry and tonumber(entry) >= now - length then
    return {0, i - 1, tostring(tonumber(entry) + length - now)}
  end
end
local full = {1, 0, '0'}
for i = 2, windows do
  local limit = tonumber(ARGV[2 * i - 2])
  local length = tonumber(ARGV[2 * i - 1])
  redis.call('LPUSH', KEYS[i], ARGV[1])
  redis.call('LTRIM', KEYS[i], 0, limit - 1)
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 1])
  local oldest = redis.call('LINDEX', KEYS[i], limit - 1)
  if oldest and tonumber(oldest) >= now - length then
    full[#full + 1] = tostring(tonumber(oldest) + length - now)
  else
    full[#full + 1] = '0'
  end
end
return full
"""
FULL_WINDOWS_KEPT = 10_000  # past this many windows known full, those with room are forgotten


@dataclass(frozen=True)
class Take:
    """One limit of :meth:`SharedRateLimiter.take_all`.

    ``margin``: once it is full, wait this much past the moment a slot frees up (for a
    server that counts requests when they arrive). ``shared``: many of this process's
    waiters may wait for it at once (a bot-wide limit); they then ask in turn.
    """

    item: RateLimitItem
    identifiers: tuple[str, ...]
    margin: float = 0.0
    shared: bool = False

    @cached_property
    def key(self) -> str:
        """The limit's name for these identifiers (as the ``limits`` package names it)."""
        return self.item.key_for(*self.identifiers)


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
        # When each window this process has heard of is known to have room again
        # (monotonic time): a try before then would only be told to wait.
        self._full_until: dict[str, float] = {}

    async def take_all(
        self, takes: Sequence[Take], *, unless: str | None = None, max_wait: float = 30.0
    ) -> None:
        """Take a slot in every limit at once, once the key ``unless`` (a cooldown) is not
        set; one round trip when there is room, else one per wait. RateLimitTimeout when
        that cannot happen within ``max_wait`` seconds."""
        deadline = time.monotonic() + max_wait
        while True:
            await self._wait(self.known_full(takes, shared=False), deadline)
            blocker: int | None
            shared = next((t for t in takes if t.shared and self.would_wait([t])), None)
            if shared is not None:  # full, or others of this process wait for it: queue
                blocker, wait = takes.index(shared) + 1, 0.0
            else:
                blocker, wait = await self._try_all(takes, unless)
            if blocker is None:
                return
            take = takes[blocker - 1] if blocker else None
            if take is not None and take.shared:
                # This process's waiters for a shared limit ask in turn, each afresh.
                async with self._queues.hold(take.key):
                    blocker = await self._wait_shared(takes, unless, blocker, deadline)
                if blocker is None:
                    return
                continue
            await self._wait(wait + (take.margin if take is not None else 0.0), deadline)

    async def _wait_shared(
        self, takes: Sequence[Take], unless: str | None, shared: int, deadline: float
    ) -> int | None:
        """While the shared limit ``takes[shared - 1]`` stands in the way, wait for it and
        try again; what stands in the way then (None: everything was taken)."""
        blocker: int | None = shared
        while blocker == shared:
            await self._wait(self.known_full(takes[shared - 1 : shared]), deadline)
            blocker, _ = await self._try_all(takes, unless)
        return blocker

    @staticmethod
    async def _wait(seconds: float, deadline: float) -> None:
        if seconds <= 0:
            return
        if time.monotonic() + seconds > deadline:
            raise RateLimitTimeout("no slot frees up within the allowed wait")
        await asyncio.sleep(seconds)

    async def _try_all(self, takes: Sequence[Take], unless: str | None) -> tuple[int | None, float]:
        """(None, 0) when every slot was taken; else which stands in the way (0 for the
        cooldown, i for ``takes[i - 1]``) and how long it will."""
        keys, args = self._take_args(takes, unless)
        answer: Any = await self._take_all(keys=keys, args=args)
        if self.took_all(takes, answer):
            return None, 0.0
        return int(answer[1]), max(float(answer[2]), 0.0)

    def took_all(self, takes: Sequence[Take], answer: Any) -> bool:
        """Whether a try (of :meth:`queue_take_all`, or made here) took every slot; what it
        says of when each window has room again is kept for the next try."""
        now = time.monotonic()
        if not int(answer[0]):
            blocker = int(answer[1])
            if blocker:  # a window is full (a cooldown is not kept: a 429 may set it anew)
                self._note_full(takes[blocker - 1], now + max(float(answer[2]), 0.001))
            return False
        for take, wait in zip(takes, answer[3:], strict=False):
            if float(wait) > 0:
                self._note_full(take, now + float(wait))
        return True

    def known_full(self, takes: Sequence[Take], *, shared: bool = True) -> float:
        """Seconds until every window of ``takes`` is known to have room (plus each one's
        margin); 0 when none is known full. ``shared=False`` leaves the shared ones out."""
        now = time.monotonic()
        longest = 0.0
        for take in takes:
            if take.shared and not shared:
                continue
            until = self._full_until.get(self._key(take), 0.0)
            if until > now:
                longest = max(longest, until - now + take.margin)
        return longest

    def would_wait(self, takes: Sequence[Take]) -> bool:
        """True when a try now would have to wait anyway: a window is known full, or this
        process's waiters for a shared one are ahead in line (they go first)."""
        return self.known_full(takes) > 0 or any(self._queued(t) for t in takes if t.shared)

    def _note_full(self, take: Take, until: float) -> None:
        if len(self._full_until) > FULL_WINDOWS_KEPT:  # forget those that have room again
            now = time.monotonic()
            self._full_until = {k: t for k, t in self._full_until.items() if t > now}
        self._full_until[self._key(take)] = until

    def _key(self, take: Take) -> str:
        return f"{self._prefix}:{take.key}"

    def _take_args(
        self, takes: Sequence[Take], unless: str | None
    ) -> tuple[list[str], list[float | int | bytes]]:
        keys = [unless or f"{self._prefix}:no-cooldown"]
        args: list[float | int | bytes] = [time.time()]
        for take in takes:
            keys.append(self._key(take))
            args += [take.item.amount, take.item.get_expiry()]
        return keys, args

    def queue_take_all(
        self,
        pipe: Pipeline,
        takes: Sequence[Take],
        *,
        unless: str | None,
        holding: tuple[str, bytes] | None = None,
    ) -> None:
        """Add one try of :meth:`take_all` to ``pipe``, to ride on another round trip;
        :meth:`took_all` reads its answer. Where it found no room, call
        :meth:`take_all` as usual. ``holding``: (a lock, its holder's token): take only if
        that lock is the holder's when the try runs (say, one taken earlier in ``pipe``)."""
        keys, args = self._take_args(takes, unless)
        if holding is not None:
            keys.append(holding[0])
            args.append(holding[1])
        pipe.eval(_TAKE_ALL, len(keys), *keys, *args)

    def _queued(self, take: Take) -> bool:
        """True while waiters of this process queue for the shared limit ``take``: one
        that tries on its own (:meth:`queue_take_all`) would go before them."""
        return self._queues.busy(take.key)

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
