"""A counting TCP proxy in front of a real Redis server.

Use it when a test or a benchmark needs to know how many Redis round trips and commands
some code costs: point the code at :attr:`RedisTap.url` instead of the server's URL and
read :attr:`RedisTap.round_trips`, :attr:`RedisTap.commands` and
:attr:`RedisTap.by_command` (or take :meth:`RedisTap.snapshot` before and after and
subtract). Bytes pass through unchanged in both directions.

A round trip is counted when the client sends data on a connection for the first time,
or after the server has answered something on that connection since the client last
sent: a pipeline is one round trip, and so is a blocking ``XREADGROUP``, however TCP cuts
the bytes up. Commands are counted by reading the client's RESP stream (arrays of bulk
strings, or inline commands); ``MULTI`` and ``EXEC`` count like any other command.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

CHUNK = 256 * 1024
NAME_LIMIT = 1024  # a first array element longer than this is not a command name


@dataclass(frozen=True)
class TapSnapshot:
    """Counts at one moment; ``later - earlier`` is what happened in between."""

    round_trips: int
    commands: int
    by_command: Mapping[str, int] = field(default_factory=dict)

    def __sub__(self, other: TapSnapshot) -> TapSnapshot:
        names = set(self.by_command) | set(other.by_command)
        diff = {n: self.by_command.get(n, 0) - other.by_command.get(n, 0) for n in names}
        return TapSnapshot(
            self.round_trips - other.round_trips,
            self.commands - other.commands,
            {name: count for name, count in diff.items() if count},
        )


class _CommandReader:
    """Reads a client's RESP stream incrementally and reports each command's name."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._elements = 0  # bulk strings still expected in the current array
        self._first = False  # the next bulk string is the command name
        self._skip = 0  # bytes of a bulk string (and its CRLF) still to pass over

    def feed(self, data: bytes) -> list[str]:
        """The names of the commands ``data`` completed the header of."""
        self._buffer += data
        names: list[str] = []
        position = 0
        while True:
            if self._skip:
                taken = min(self._skip, len(self._buffer) - position)
                position += taken
                self._skip -= taken
                if self._skip:
                    break
            moved = self._step(position, names)
            if moved == position:
                break
            position = moved
        del self._buffer[:position]
        return names

    def _step(self, position: int, names: list[str]) -> int:
        """Parse one header (or inline command) at ``position``; where parsing stopped."""
        buffer = self._buffer
        if position >= len(buffer):
            return position
        if self._elements == 0:
            return self._command_start(position, names)
        end = buffer.find(b"\r\n", position)
        if end == -1:
            return position
        length = int(buffer[position + 1 : end]) if buffer[position : position + 1] == b"$" else 0
        data = end + 2
        if self._first:
            if length <= NAME_LIMIT and len(buffer) < data + length + 2:
                return position  # wait for the whole name
            name = buffer[data : data + length] if length <= NAME_LIMIT else b"?"
            names.append(bytes(name).decode("latin-1").upper())
            self._first = False
        self._elements -= 1
        self._skip = max(0, length) + 2 if length >= 0 else 0
        return data

    def _command_start(self, position: int, names: list[str]) -> int:
        buffer = self._buffer
        if buffer[position : position + 1] == b"*":
            end = buffer.find(b"\r\n", position)
            if end == -1:
                return position
            count = int(buffer[position + 1 : end])
            if count > 0:
                self._elements, self._first = count, True
            return end + 2
        end = buffer.find(b"\n", position)
        if end == -1:
            return position
        words = bytes(buffer[position:end]).split()
        if words:
            names.append(words[0].decode("latin-1").upper())
        return end + 1


class _Connection:
    """One client connection: its round-trip state and its command reader."""

    def __init__(self, tap: RedisTap) -> None:
        self.tap = tap
        self.server_spoke = True  # so that the client's first data is a round trip
        self.reader: _CommandReader | None = _CommandReader()

    def from_client(self, data: bytes) -> None:
        if self.server_spoke:
            self.tap.round_trips += 1
            self.server_spoke = False
        if self.reader is None:
            return
        try:
            names = self.reader.feed(data)
        except ValueError:  # not RESP after all: keep forwarding, stop counting commands
            self.reader = None
            return
        for name in names:
            self.tap.commands += 1
            self.tap.by_command[name] += 1

    def from_server(self, data: bytes) -> None:
        if data:
            self.server_spoke = True


class RedisTap:
    """A proxy on ``127.0.0.1`` counting round trips and commands to a Redis server.

    ``RedisTap("redis://host:port/db")`` or ``RedisTap("host", 6379)``; use as
    ``async with RedisTap(url) as tap:`` and hand ``tap.url`` to the code under test.
    """

    def __init__(self, upstream: str, port: int | None = None, *, listen_port: int = 0) -> None:
        if port is not None:
            upstream = f"redis://{upstream}:{port}/0"
        parts = urlsplit(upstream)
        if parts.scheme not in ("redis", "") or not parts.hostname:
            raise ValueError(f"a redis://host:port URL is needed, not {upstream!r}")
        self._upstream = upstream
        self._host = parts.hostname
        self._port = parts.port or 6379
        self._listen_port = listen_port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pumps: set[asyncio.Task[None]] = set()
        self._closing = False
        self.round_trips = 0
        self.commands = 0
        self.by_command: Counter[str] = Counter()

    @property
    def url(self) -> str:
        """The upstream URL with this proxy's address (user, password, db and query kept)."""
        if self._server is None:
            raise RuntimeError("the tap is not started")
        port = self._server.sockets[0].getsockname()[1]
        parts = urlsplit(self._upstream)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
        return urlunsplit(("redis", netloc, parts.path, parts.query, ""))

    def snapshot(self) -> TapSnapshot:
        return TapSnapshot(self.round_trips, self.commands, dict(self.by_command))

    def reset(self) -> None:
        """Start counting from zero (connections stay open)."""
        self.round_trips = 0
        self.commands = 0
        self.by_command = Counter()

    async def start(self) -> None:
        self._closing = False
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._listen_port)

    async def stop(self) -> None:
        self._closing = True
        if self._server is not None:
            self._server.close()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> RedisTap:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        server_out: asyncio.StreamWriter | None = None
        try:
            server_in, server_out = await asyncio.open_connection(self._host, self._port)
            if self._closing:
                return
            connection = _Connection(self)
            pumps = [
                asyncio.create_task(_pump(client_in, server_out, connection.from_client)),
                asyncio.create_task(_pump(server_in, client_out, connection.from_server)),
            ]
            self._pumps.update(pumps)
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
                self._pumps.difference_update(pumps)
        except OSError:
            pass
        finally:
            for writer in (client_out, server_out):
                if writer is not None:
                    writer.close()
                    with contextlib.suppress(OSError, asyncio.CancelledError):
                        await writer.wait_closed()
            self._tasks.discard(task)


async def _pump(
    source: asyncio.StreamReader,
    sink: asyncio.StreamWriter,
    seen: Callable[[bytes], None],
) -> None:
    """Copy ``source`` to ``sink`` until it ends, telling ``seen`` of every chunk."""
    with contextlib.suppress(OSError):
        while data := await source.read(CHUNK):
            seen(data)
            sink.write(data)
            await sink.drain()
