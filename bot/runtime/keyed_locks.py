"""One asyncio lock per key, for work that must happen one at a time per key, in order.

Use :meth:`KeyedLocks.hold` as the first thing a task does: a free lock is taken without
yielding to the event loop, and waiters are served first come, first served, so tasks
started in some order run in that order per key. A key's lock is forgotten once nobody
holds it or waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class KeyedLocks:
    """Locks by key, kept only while in use."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the lock of ``key`` (waiting for those who asked first)."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def busy(self, key: str) -> bool:
        """True while someone holds or waits for the lock of ``key``."""
        return key in self._locks

    def __len__(self) -> int:
        """How many keys are held or waited for."""
        return len(self._locks)
