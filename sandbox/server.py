"""What every PBX simulator shares: an aiohttp server on loopback, a client session that
posts webhooks to the bot, and scenario tasks playing in the background.

Subclass :class:`SimulatorServer`, implement :meth:`build_app`, and use the simulator as
an async context manager (or call :meth:`start` and :meth:`stop`).
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web


class SimulatorServer:
    """Lifecycle of one simulator listening on ``host:port`` (port 0: a free one)."""

    post_timeout = aiohttp.ClientTimeout(total=10)

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def build_app(self) -> web.Application:
        """The aiohttp application speaking this PBX's protocol."""
        raise NotImplementedError

    async def start(self) -> None:
        """Listen, and open the client that posts events to the bot."""
        self._runner = web.AppRunner(self.build_app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession(timeout=self.post_timeout)

    async def stop(self) -> None:
        """Cancel scenarios still playing, close the client and the server."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
