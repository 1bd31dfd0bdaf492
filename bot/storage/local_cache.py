"""Copies of rarely changing records (people, their links) kept in the process, so an
event does not read them from Redis again and again.

Use :class:`Invalidations` once per process: every write of such a record publishes a
change on one Redis channel (:meth:`Invalidations.published`), and every process empties
its copies when it hears one. Copies are used only while the process listens: before it
has subscribed, and while the subscription is broken, every read goes to Redis. A copy
read while a change was announced is not kept, and none is kept longer than ``ttl``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Generic, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

log = logging.getLogger(__name__)

CHANNEL = "pbxgram:changed"
TTL_SECONDS = 60.0
RESUBSCRIBE_PAUSE = 1.0

K = TypeVar("K")
V = TypeVar("V")


class LocalCache(Generic[K, V]):
    """Values by key; see the module's docstring for when a copy is used."""

    def __init__(self, owner: Invalidations, ttl: float = TTL_SECONDS) -> None:
        self._owner = owner
        self._ttl = ttl
        self._values: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> tuple[bool, V | None]:
        """(True, value) when a fresh copy is kept; (False, None) means read Redis."""
        if not self._owner.live:
            return False, None
        found = self._values.get(key)
        if found is None or found[0] < time.monotonic():
            return False, None
        return True, found[1]

    def keep(self, key: K, value: V, generation: int) -> None:
        """Keep what was read, unless a change was heard since the read began
        (``generation`` as :attr:`Invalidations.generation` was then)."""
        if self._owner.live and generation == self._owner.generation:
            self._values[key] = (time.monotonic() + self._ttl, value)

    def clear(self) -> None:
        self._values.clear()


class Invalidations:
    """The change channel of one process: its caches, and the listener that empties them."""

    def __init__(self, redis: Redis, channel: str = CHANNEL) -> None:
        self._redis = redis
        self._channel = channel
        self._caches: list[LocalCache[object, object]] = []
        self.generation = 0  # changes heard so far (or made here)
        self.live = False  # listening: copies may be used

    def cache(self, ttl: float = TTL_SECONDS) -> LocalCache[K, V]:
        """A new cache emptied with every change."""
        cache: LocalCache[K, V] = LocalCache(self, ttl)
        self._caches.append(cache)  # type: ignore[arg-type]  # emptied whatever it holds
        return cache

    def published(self, pipe: Pipeline) -> None:
        """Announce a change with the writes of ``pipe``; this process forgets at once."""
        pipe.publish(self._channel, "1")
        self.changed()

    def changed(self) -> None:
        self.generation += 1
        for cache in self._caches:
            cache.clear()

    async def listen(self, stop: asyncio.Event) -> None:
        """Empty the caches on every change announced, until ``stop``; run it as a task."""
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                listening = asyncio.create_task(self._listen_once())
                await asyncio.wait({listening, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not listening.done():
                    listening.cancel()
                await asyncio.wait({listening})
                self.live = False
                self.changed()
                if not listening.cancelled() and listening.exception() is not None:
                    error = listening.exception()
                    log.info("change channel interrupted (%s); caches off", type(error).__name__)
                if not stop.is_set():
                    await asyncio.wait({stopping}, timeout=RESUBSCRIBE_PAUSE)
        finally:
            stopping.cancel()

    async def _listen_once(self) -> None:
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(self._channel)
            async for message in pubsub.listen():
                # Whatever changed before the subscription was confirmed counts too.
                self.changed()
                if message["type"] == "subscribe":
                    self.live = True
