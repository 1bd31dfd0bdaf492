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

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

LEASE_SECONDS = 10.0


@contextlib.asynccontextmanager
async def lease(
    redis: Redis, name: str, *, wait: float, ttl: float = LEASE_SECONDS
) -> AsyncIterator[None]:
    """Hold the lock ``name``; LockError when it is not free within ``wait`` seconds."""
    lock = redis.lock(name, timeout=ttl, blocking_timeout=wait)
    async with lock:
        renewal = asyncio.create_task(_renew(lock, every=ttl / 3), name=f"lease {name}")
        try:
            yield
        finally:
            renewal.cancel()
            # asyncio.wait, not ``await renewal``: a cancellation of this task itself must
            # go on propagating, not be mistaken for the renewal's and swallowed.
            await asyncio.wait({renewal})


async def _renew(lock: Lock, *, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await lock.reacquire()
        except RedisError as exc:  # LockNotOwnedError included: it expired after all
            log.warning("lock %s could not be renewed: %r", lock.name, exc)
            return
