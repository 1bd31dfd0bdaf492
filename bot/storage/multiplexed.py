"""One Redis connection shared by every task of the process, its answers matched to the
requests in order.

Use :class:`Multiplexed` (the app's pool keeps one, see
:class:`~bot.storage.pool.WaitingConnectionPool`) for commands that answer at once: a
request is one write and one future, with no connection to check out and give back,
and a cancelled request leaves the connection in step (its answer is read and dropped).
Commands that block (``XREADGROUP ... BLOCK``), change the connection's state (``SELECT``,
``WATCH``, ``MULTI``) or subscribe keep to the pool's own connections.

The connection is opened the way the pool opens its own (same address, handshake,
protocol and decoding), then its transport hands every byte read to this class. When it
is lost, the requests waiting on it fail with :class:`Lost` and go the pool's way, which
retries as redis-py does; the next request opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, cast

import hiredis
from redis._parsers.hiredis import NOT_ENOUGH_DATA
from redis.asyncio.connection import AbstractConnection
from redis.client import EMPTY_RESPONSE
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from bot.storage.packing import NAMES_KEPT

log = logging.getLogger(__name__)

# After a failed attempt to open the connection, commands go the pool's way this long.
REOPEN_PAUSE = 1.0
# Commands that wait for something to happen, or change the connection itself.
KEPT_TO_THE_POOL = frozenset(
    {
        "AUTH",
        "BLMOVE",
        "BLMPOP",
        "BLPOP",
        "BRPOP",
        "BRPOPLPUSH",
        "BZMPOP",
        "BZPOPMAX",
        "BZPOPMIN",
        "CLIENT",
        "DISCARD",
        "EXEC",
        "HELLO",
        "MONITOR",
        "MULTI",
        "PSUBSCRIBE",
        "PSYNC",
        "PUNSUBSCRIBE",
        "QUIT",
        "READONLY",
        "READWRITE",
        "RESET",
        "SELECT",
        "SHUTDOWN",
        "SSUBSCRIBE",
        "SUBSCRIBE",
        "SUNSUBSCRIBE",
        "SYNC",
        "UNSUBSCRIBE",
        "UNWATCH",
        "WAIT",
        "WAITAOF",
        "WATCH",
    }
)


class Lost(RedisConnectionError):
    """The shared connection was lost (or could not be opened) before the answer came:
    send the request the pool's way."""


def shareable(args: Sequence[Any]) -> bool:
    """Whether a command may go over the shared connection: it answers at once and leaves
    the connection as it was."""
    shared = _shared_by_name(args[0])
    if shared is None:  # a read that blocks only when told to
        return not any(isinstance(a, str | bytes) and a in ("BLOCK", b"BLOCK") for a in args)
    return shared


@lru_cache(maxsize=NAMES_KEPT)
def _shared_by_name(name: str | bytes) -> bool | None:
    """What a command's name says of :func:`shareable` (None: its arguments say)."""
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    head = name.split(" ", 1)[0].upper()
    if head in KEPT_TO_THE_POOL:
        return False
    return None if head in ("XREAD", "XREADGROUP") else True


class _Reading(asyncio.Protocol):
    """Reads the shared connection's answers and hands each to its request, in order."""

    def __init__(self, reader: hiredis.Reader, owner: Multiplexed) -> None:
        self._reader = reader
        self._owner = owner
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.writer: asyncio.StreamWriter | None = None  # closes the transport once dropped

    def data_received(self, data: bytes) -> None:
        reader, waiting = self._reader, self.waiting
        reader.feed(data)
        while (answer := reader.gets()) is not NOT_ENOUGH_DATA:
            if isinstance(answer, hiredis.PushNotification):
                continue  # out-of-band news (RESP3 push): nobody asked for it
            if not waiting:
                self._owner.drop(RedisConnectionError("an answer nobody asked for"))
                return
            future = waiting.popleft()
            if not future.done():  # its caller may have been cancelled meanwhile
                future.set_result(answer)

    def eof_received(self) -> bool:
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner.lost(self)


class Multiplexed:
    """The shared connection of one pool (opened at its first use)."""

    def __init__(self, make_connection: Callable[[], AbstractConnection]) -> None:
        self._make_connection = make_connection
        self._transport: asyncio.Transport | None = None
        self._reading: _Reading | None = None
        self._opening: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop it was opened in
        self._closed_until = 0.0

    @property
    def usable(self) -> bool:
        """False for a while after the connection could not be opened."""
        return self._transport is not None or time.monotonic() >= self._closed_until

    async def ask(self, packed: bytes, count: int) -> list[Any]:
        """Send ``count`` commands already packed; their raw answers (error answers as
        exception instances), in order. :class:`Lost` if the connection goes first."""
        transport, reading = self._transport, self._reading
        loop = asyncio.get_running_loop()
        if transport is None or reading is None or transport.is_closing() or loop is not self._loop:
            transport, reading = await self._open()
        futures = [loop.create_future() for _ in range(count)]
        transport.write(packed)
        reading.waiting.extend(futures)
        if count == 1:
            return [await futures[0]]
        return [await future for future in futures]

    async def _open(self) -> tuple[asyncio.Transport, _Reading]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop: what the old one opened is gone
            self._transport, self._reading, self._opening = None, None, None
            self._loop = loop
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            transport, reading = self._transport, self._reading
            if transport is not None and reading is not None and not transport.is_closing():
                return transport, reading
            if time.monotonic() < self._closed_until:
                raise Lost("the shared connection is closed for now")
            connection = self._make_connection()
            try:
                await connection.connect()  # type: ignore[no-untyped-call]
                taken = _take_over(connection, self)
            except (RedisError, OSError, TimeoutError) as exc:
                with contextlib.suppress(RedisError, OSError):  # opened, not taken over
                    await connection.disconnect()
                self._closed_until = time.monotonic() + REOPEN_PAUSE
                raise Lost(f"could not open the shared connection: {type(exc).__name__}") from exc
            self._transport, self._reading = taken
            return taken

    def lost(self, reading: _Reading) -> None:
        """The connection ``reading`` read is gone: its waiting requests fail."""
        if self._reading is reading:
            self._transport, self._reading = None, None
        while reading.waiting:
            future = reading.waiting.popleft()
            if not future.done():
                future.set_exception(Lost("the shared connection was lost"))
                future.exception()  # heard, even by a request cancelled meanwhile

    def drop(self, error: Exception) -> None:
        """Close the connection (it is out of step)."""
        log.warning("closing the shared Redis connection: %s", error)
        if self._transport is not None:
            self._transport.close()

    def close(self) -> None:
        transport, self._transport, self._reading = self._transport, None, None
        if transport is not None and self._loop is not None and not self._loop.is_closed():
            transport.close()  # (one opened in a loop closed since went with it)


def _take_over(
    connection: AbstractConnection, owner: Multiplexed
) -> tuple[asyncio.Transport, _Reading]:
    """The transport of a connection redis-py has just opened (handshake done), now
    read by a :class:`_Reading` with the connection's own answer reader."""
    writer = connection._writer
    reader = getattr(connection._parser, "_reader", None)
    stream = connection._reader
    if writer is None or not isinstance(reader, hiredis.Reader) or stream is None:
        raise RedisConnectionError("the shared connection needs hiredis")
    if getattr(stream, "_buffer", b"") or reader.has_data():  # nothing left unread
        raise RedisConnectionError("the shared connection had unread data")
    transport = cast(asyncio.Transport, writer.transport)  # uvloop's are not subclasses
    reading = _Reading(reader, owner)
    transport.set_protocol(reading)
    # The connection object no longer owns the transport: dropping it must not close it.
    # Its stream writer would, once dropped: it is kept as long as the transport is read.
    reading.writer = writer
    connection._reader = connection._writer = None
    return transport, reading


def answer(callbacks: Any, name: Any, raw: Any, options: dict[str, Any]) -> Any:
    """What redis-py's ``parse_response`` makes of the raw answer ``raw`` to command
    ``name`` (an error answer raised, unless the command says what it means)."""
    if isinstance(raw, RedisConnectionError):  # e.g. still loading its data: the pool's
        raise Lost(str(raw)) from raw  # way waits and tries again, as redis-py does
    if isinstance(raw, ResponseError):
        if EMPTY_RESPONSE in options:
            return options[EMPTY_RESPONSE]
        raise raw
    if options:
        options.pop(EMPTY_RESPONSE, None)
        options.pop("keys", None)
    callback = callbacks.get(name)  # (one look-up: none of redis-py's callbacks is None)
    return raw if callback is None else callback(raw, **options)
