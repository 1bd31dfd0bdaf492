"""A forwarding proxy on loopback that counts what passes through it.

``kind="http"``: ``CONNECT host:port`` tunnels and absolute-URI requests
(``POST http://host:port/path``), Basic ``Proxy-Authorization`` when a user is set.
``kind="socks5"``: RFC 1928 ``CONNECT`` with RFC 1929 username/password when a user is set.
Bot API method names are read from the plain HTTP the proxy relays (a Bot API on http://).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import struct
from dataclasses import dataclass, field
from typing import Literal, Self
from urllib.parse import quote, urlsplit

BOT_API_CALL = re.compile(rb"(?:GET|POST) /bot[^/\s]+/(\w+) HTTP/1\.[01]\r\n")


@dataclass
class LoopbackProxy:
    """Start with ``async with``; :meth:`url` is what clients are configured with."""

    kind: Literal["http", "socks5"]
    username: str | None = None
    password: str | None = None
    connections: int = 0  # clients that connected
    rejected: int = 0  # clients turned away for their credentials
    targets: list[str] = field(default_factory=list)  # host:port of every relayed connection
    methods: list[str] = field(default_factory=list)  # Bot API methods seen in relayed requests
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def url(self, username: str | None = None, password: str | None = None) -> str:
        """The proxy URL with these credentials (by default the proxy's own)."""
        user, secret = username or self.username, password or self.password
        auth = f"{quote(user, safe='')}:{quote(secret or '', safe='')}@" if user else ""
        return f"{self.kind}://{auth}127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            if self.kind == "http":
                await self._http(reader, writer)
            else:
                await self._socks5(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")[:-2]
        verb, target, version = request_line.split(" ")
        headers = dict(line.split(": ", 1) for line in header_lines)
        if self.username is not None:
            given = {k.lower(): v for k, v in headers.items()}.get("proxy-authorization", "")
            expected = f"{self.username}:{self.password}".encode()
            if given != "Basic " + base64.b64encode(expected).decode():
                self.rejected += 1
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n")
                writer.write(b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n')
                await writer.drain()
                return
        if verb == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = await self._open(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await self._relay(reader, writer, *upstream)
            return
        parts = urlsplit(target)  # absolute URI: forward as origin-form, one request
        assert parts.hostname is not None
        upstream = await self._open(parts.hostname, parts.port or 80)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        kept = [
            f"{name}: {value}"
            for name, value in headers.items()
            if name.lower() not in ("proxy-authorization", "proxy-connection", "connection")
        ]
        forwarded = "\r\n".join([f"{verb} {path} {version}", *kept, "Connection: close", "", ""])
        self._note(forwarded.encode("latin-1"))
        upstream[1].write(forwarded.encode("latin-1"))
        await self._relay(reader, writer, *upstream)

    async def _socks5(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version, count = await reader.readexactly(2)
        assert version == 5
        offered = await reader.readexactly(count)
        method = 0x02 if self.username is not None else 0x00
        if method not in offered:
            writer.write(b"\x05\xff")
            return
        writer.write(bytes([5, method]))
        if method == 0x02:  # RFC 1929
            _, user_length = await reader.readexactly(2)
            user = (await reader.readexactly(user_length)).decode()
            secret = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            if (user, secret) != (self.username, self.password):
                self.rejected += 1
                writer.write(b"\x01\x01")
                await writer.drain()
                return
            writer.write(b"\x01\x00")
        _, command, _, address_type = await reader.readexactly(4)
        if address_type == 1:
            host = ".".join(str(b) for b in await reader.readexactly(4))
        elif address_type == 3:
            host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        else:
            raw = await reader.readexactly(16)
            host = ":".join(raw[i : i + 2].hex() for i in range(0, 16, 2))
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        if command != 1:
            writer.write(b"\x05\x07\x00\x01" + bytes(6))  # command not supported
            return
        try:
            upstream = await self._open(host, port)
        except OSError:
            writer.write(b"\x05\x05\x00\x01" + bytes(6))  # connection refused
            return
        writer.write(b"\x05\x00\x00\x01" + bytes(6))
        await self._relay(reader, writer, *upstream)

    async def _open(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.targets.append(f"{host}:{port}")
        return await asyncio.open_connection(host, port)

    async def _relay(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
    ) -> None:
        await client_writer.drain()
        try:
            await asyncio.gather(
                self._pipe(client_reader, upstream_writer, watch=True),
                self._pipe(upstream_reader, client_writer, watch=False),
            )
        finally:
            upstream_writer.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, watch: bool
    ) -> None:
        pending = b""  # the tail of the stream a request line may still be arriving in
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
                if watch:
                    pending = self._note(pending + chunk)
        except ConnectionError:
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                writer.write_eof()

    def _note(self, data: bytes) -> bytes:
        """Record the Bot API calls in ``data``; the tail to look at again with the next chunk."""
        end = 0
        for match in BOT_API_CALL.finditer(data):
            self.methods.append(match.group(1).decode())
            end = match.end()
        return data[max(end, len(data) - 512) :]
