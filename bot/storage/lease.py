"""Redis locks held as leases: a short expiry, renewed for as long as the holder runs.

Use :func:`lease` where a worker may hold a lock for long (waiting for a rate limit, a
slow API): the lock never expires under a live holder, and the lock of a holder that
crashed frees itself within ``ttl`` seconds instead of the longest time a holder may need.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockNotOwnedError, RedisError

log = logging.getLogger(__name__)

LEASE_SECONDS = 10.0


@dataclass
class Lease:
    """A lease being held. ``lost`` is set if it expired under its holder (Redis was out
    of reach, or the process stood still, for longer than the lease lasts)."""

    lock: Lock
    lost: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def token(self) -> bytes:
        """The holder's token, for a script that writes only while the lease is this
        holder's (it compares it with the lock's value in Redis)."""
        token = self.lock.local.token
        assert token is not None, "the lease is held"
        return token if isinstance(token, bytes) else token.encode()


@contextlib.asynccontextmanager
async def lease(
    redis: Redis, name: str, *, wait: float, ttl: float = LEASE_SECONDS
) -> AsyncIterator[Lease]:
    """Hold the lock ``name``; LockError when it is not free within ``wait`` seconds."""
    lock = redis.lock(name, timeout=ttl, blocking_timeout=wait)
    async with lock:
        held = Lease(lock)
        renewal = asyncio.create_task(_renew(held, every=ttl / 3), name=f"lease {name}")
        try:
            yield held
        finally:
            renewal.cancel()
            # asyncio.wait, not ``await renewal``: a cancellation of this task itself must
            # go on propagating, not be mistaken for the renewal's and swallowed.
            await asyncio.wait({renewal})


async def _renew(held: Lease, *, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await held.lock.reacquire()
        except LockNotOwnedError:
            log.warning("lock %s expired under its holder", held.lock.name)
            held.lost.set()
            return
        except RedisError as exc:  # out of reach for now: the lease may still be saved
            log.warning("lock %s could not be renewed yet: %r", held.lock.name, exc)
