"""One asyncio lock per key, for work that must happen one at a time per key, in order.

Use :meth:`KeyedLocks.hold` as the first thing a task does: a free lock is taken without
yielding to the event loop, and waiters are served first come, first served, so tasks
started in some order run in that order per key. A key's lock is forgotten once nobody
holds it or waits for it.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class KeyedLocks:
    """Locks by key, kept only while in use."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def hold(self, key: str) -> HeldLock:
        """Hold the lock of ``key`` (``async with locks.hold(key):``), waiting for those
        who asked first."""
        return HeldLock(self._locks, key)

    def busy(self, key: str) -> bool:
        """True while someone holds or waits for the lock of ``key``."""
        return key in self._locks

    def __len__(self) -> int:
        """How many keys are held or waited for."""
        return len(self._locks)


class HeldLock:
    """The context of :meth:`KeyedLocks.hold`. (A class rather than a generator: every
    delivery enters one.)"""

    __slots__ = ("_key", "_lock", "_locks")

    def __init__(self, locks: dict[str, tuple[asyncio.Lock, int]], key: str) -> None:
        self._locks = locks
        self._key = key

    async def __aenter__(self) -> None:
        known = self._locks.get(self._key)
        lock, users = known if known is not None else (asyncio.Lock(), 0)
        self._locks[self._key] = (lock, users + 1)
        self._lock = lock
        try:
            await lock.acquire()
        except BaseException:
            self._forget()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()
        self._forget()

    def _forget(self) -> None:
        lock, users = self._locks[self._key]
        if users <= 1:
            del self._locks[self._key]
        else:
            self._locks[self._key] = (lock, users - 1)
