"""A bounded Redis connection pool that waits for a free connection.

Use :class:`WaitingConnectionPool` where redis-py's ``BlockingConnectionPool`` would do:
same promise (at most ``max_connections``, a command waits up to ``timeout`` seconds for
one), but a checkout costs one semaphore instead of a condition, a lock and a timer, and
giving a connection back neither locks nor fires events, which matters when every call
event makes several round trips. Its connections pack commands in C
(:mod:`bot.storage.packing`). Beside them it keeps one connection every task shares for
the commands that answer at once (:mod:`bot.storage.multiplexed`; ``shared=False``: none).
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.driver_info import DriverInfo
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.storage.multiplexed import Multiplexed
from bot.storage.packing import packing_in_c


class WaitingConnectionPool(ConnectionPool):
    """At most ``max_connections``; a checkout waits up to ``timeout`` seconds for one."""

    def __init__(self, *, timeout: float = 20.0, shared: bool = True, **kwargs: Any) -> None:
        # What the connections tell Redis of the client (CLIENT SETINFO), made once: each
        # connection would otherwise read the installed package's metadata again.
        kwargs.setdefault("driver_info", DriverInfo())
        super().__init__(**kwargs)
        self.connection_class = packing_in_c(self.connection_class)
        self.timeout = timeout
        self._slots = asyncio.Semaphore(self.max_connections)
        # Commands that answer at once share one connection, when they wait for their
        # answer as long as it takes (no socket timeout) and text is UTF-8.
        kept = self.connection_kwargs
        self.shared: Multiplexed | None = (
            Multiplexed(self.make_connection)
            if shared
            and "socket_timeout" in kept
            and kept["socket_timeout"] is None
            and kept.get("encoding", "utf-8") == "utf-8"
            and kept.get("encoding_errors", "strict") == "strict"
            else None
        )

    async def get_connection(self, *_: Any, **__: Any) -> AbstractConnection:
        """A connected connection, waiting for one while all are in use."""
        if self._slots.locked():
            try:
                async with asyncio.timeout(self.timeout):
                    await self._slots.acquire()
            except TimeoutError:
                raise RedisConnectionError("No connection available.") from None
        else:
            await self._slots.acquire()  # free: returns at once
        try:
            connection: AbstractConnection = self.get_available_connection()  # type: ignore[no-untyped-call]
        except BaseException:
            self._slots.release()
            raise
        try:
            # A connection that is up and has nothing left to read is ready as it is;
            # anything else is made ready (connected, or reconnected) as redis-py does.
            try:
                ready = connection.is_connected and not await connection.can_read()
            except (RedisConnectionError, RedisTimeoutError, OSError):
                ready = False
            if not ready:
                await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def disconnect(self, inuse_connections: bool = True) -> None:
        if self.shared is not None:
            self.shared.close()
        await super().disconnect(inuse_connections)

    async def release(self, connection: AbstractConnection) -> None:
        """Give a connection back. No lock: one event loop owns the pool, and nothing here
        awaits before the connection is listed as free. No "connection released" event
        either: nothing here listens for it."""
        try:
            self._in_use_connections.discard(connection)
            if connection.should_reconnect():  # type: ignore[no-untyped-call]
                await connection.disconnect()
            self._available_connections.append(connection)
        finally:
            self._slots.release()
