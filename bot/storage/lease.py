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
from redis.exceptions import LockNotOwnedError, RedisError

log = logging.getLogger(__name__)

LEASE_SECONDS = 10.0


@contextlib.asynccontextmanager
async def lease(
    redis: Redis, name: str, *, wait: float, ttl: float = LEASE_SECONDS
) -> AsyncIterator[asyncio.Event]:
    """Hold the lock ``name``; LockError when it is not free within ``wait`` seconds.

    Yields an event set if the lease is lost after all (it expired: Redis was out of
    reach, or the process stood still, for longer than ``ttl``); a holder that must never
    share its work with another (the one Telegram long-poller) stops when it is set.
    """
    lock = redis.lock(name, timeout=ttl, blocking_timeout=wait)
    async with lock:
        lost = asyncio.Event()
        renewal = asyncio.create_task(_renew(lock, every=ttl / 3, lost=lost), name=f"lease {name}")
        try:
            yield lost
        finally:
            renewal.cancel()
            # asyncio.wait, not ``await renewal``: a cancellation of this task itself must
            # go on propagating, not be mistaken for the renewal's and swallowed.
            await asyncio.wait({renewal})


async def _renew(lock: Lock, *, every: float, lost: asyncio.Event) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await lock.reacquire()
        except LockNotOwnedError:
            log.warning("lock %s expired under its holder", lock.name)
            lost.set()
            return
        except RedisError as exc:  # out of reach for now: the lease may still be saved
            log.warning("lock %s could not be renewed yet: %r", lock.name, exc)
