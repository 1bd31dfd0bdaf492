"""Redis locks held as leases: a short expiry, renewed for as long as the holder runs.

Use :func:`lease` where a worker may hold a lock for long (waiting for a rate limit, a
slow API): the lock never expires under a live holder, and the lock of a holder that
crashed frees itself within ``ttl`` seconds instead of the longest time a holder may need.

A lease costs one round trip to take and one to give back. What the holder reads first
rides on the taking (``reads``), and a holder's last write may give the lock back in the
same script (:meth:`Lease.handed_back`). Most leases end within a third of their ``ttl``,
so renewal only starts once one has lasted that long.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import LockError, LockNotOwnedError, RedisError

log = logging.getLogger(__name__)

LEASE_SECONDS = 10.0
RETRY_PAUSE = 0.1  # seconds between tries while another holder has the lock

# KEYS[1] the lock; ARGV[1] the holder's token, ARGV[2] the new expiry (ms)
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""
# KEYS[1] the lock; ARGV[1] the holder's token
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
return redis.call('DEL', KEYS[1])
"""

Reads = Callable[[Pipeline], object]


def new_token() -> str:
    """A holder's token: unique to it, as a UUID would be."""
    return os.urandom(16).hex()


class Lease:
    """A lease being held. ``lost`` is set if it expired under its holder (Redis was out
    of reach, or the process stood still, for longer than the lease lasts). ``read`` holds
    the answers to the reads made with the taking."""

    def __init__(self, redis: Redis, name: str, ttl: float, token: str | None = None) -> None:
        self.name = name
        self.ttl = ttl
        self.lost = asyncio.Event()
        self.read: list[Any] = []
        self._redis = redis
        self._token = token or new_token()
        self._given_back = False

    @property
    def token(self) -> bytes:
        """The holder's token, for a script that writes only while the lease is this
        holder's (it compares it with the lock's value in Redis)."""
        return self._token.encode()

    def handed_back(self) -> None:
        """The holder's own script deleted the lock with its last write: nothing to
        release on exit."""
        self._given_back = True

    async def _take(self, wait: float, reads: Reads | None) -> None:
        deadline = time.monotonic() + wait
        ms = int(self.ttl * 1000)
        while True:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.execute_command("SET", self.name, self._token, "NX", "PX", ms)
                if reads is not None:
                    reads(pipe)
                taken, *self.read = await pipe.execute()
            if taken:
                return
            if time.monotonic() + RETRY_PAUSE > deadline:
                raise LockError("Unable to acquire lock")
            await asyncio.sleep(RETRY_PAUSE)

    async def _release(self) -> None:
        if self._given_back:
            return
        if not await self._redis.eval(_RELEASE, 1, self.name, self._token):
            raise LockNotOwnedError(f"cannot release lock {self.name}: no longer owned")

    async def _renew(self, every: float) -> None:
        ms = int(self.ttl * 1000)
        while True:
            try:
                if not await self._redis.eval(_RENEW, 1, self.name, self._token, ms):
                    log.warning("lock %s expired under its holder", self.name)
                    self.lost.set()
                    return
            except RedisError as exc:  # out of reach for now: the lease may still be saved
                log.warning("lock %s could not be renewed yet: %r", self.name, exc)
            await asyncio.sleep(every)


def lease(
    redis: Redis,
    name: str,
    *,
    wait: float,
    ttl: float = LEASE_SECONDS,
    reads: Reads | None = None,
    token: str | None = None,
) -> Leased:
    """Hold the lock ``name`` (``async with lease(...) as held``); LockError when it is not
    free within ``wait`` seconds.

    ``reads`` adds commands to the taking's pipeline; their answers are in ``read`` (only
    what was read once the lock was this holder's). ``token``: the holder's own (from
    :func:`new_token`), for reads that must know it, e.g. to write only while the lock is
    the holder's."""
    return Leased(Lease(redis, name, ttl, token), wait, reads)


class Leased:
    """The context of :func:`lease`: takes the lock on entry, renews it while the block
    runs for longer than a third of the lease, gives it back on exit. (A class rather than
    a generator: every call event enters one or two.)"""

    __slots__ = ("_held", "_later", "_reads", "_renewal", "_wait")

    def __init__(self, held: Lease, wait: float, reads: Reads | None) -> None:
        self._held = held
        self._wait = wait
        self._reads = reads
        self._later: asyncio.TimerHandle | None = None
        self._renewal: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Lease:
        held = self._held
        await held._take(self._wait, self._reads)
        self._later = asyncio.get_running_loop().call_later(held.ttl / 3, self._start_renewal)
        return held

    def _start_renewal(self) -> None:
        held = self._held
        self._renewal = asyncio.create_task(held._renew(held.ttl / 3), name=f"lease {held.name}")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._later is not None:
            self._later.cancel()
        renewal = self._renewal
        if renewal is not None:
            renewal.cancel()
            # asyncio.wait, not ``await renewal``: a cancellation of this task itself must
            # go on propagating, not be mistaken for the renewal's and swallowed.
            await asyncio.wait({renewal})
        held = self._held
        if held._given_back:
            return
        try:
            await held._release()
        except LockNotOwnedError:
            if exc_type is None:
                raise
            log.warning("lock %s was no longer held when its holder failed", held.name)
