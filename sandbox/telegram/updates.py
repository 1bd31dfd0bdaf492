"""The bot's update queue: long polling via getUpdates, or pushes to a webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp

from sandbox.telegram.state import Signal

log = logging.getLogger(__name__)

_OFF_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def update_type(update: dict[str, Any]) -> str:
    """The kind of an Update: its one field besides ``update_id``."""
    return next(key for key in update if key != "update_id")


class UpdateQueue:
    """Pending updates in order, with Telegram's offset confirmation and allowed_updates."""

    def __init__(self, signal: Signal) -> None:
        self._signal = signal
        self.pending: list[dict[str, Any]] = []
        self.next_id = 1
        self.allowed: list[str] = []

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a new update of ``kind`` and wake pollers; returns the Update."""
        update = {"update_id": self.next_id, kind: payload}
        self.next_id += 1
        self.pending.append(update)
        self._signal.notify()
        return update

    def set_allowed(self, allowed: list[str] | None) -> None:
        """Remember allowed_updates when given; an empty list means the default set."""
        if allowed is not None:
            self.allowed = list(allowed)

    def is_allowed(self, update: dict[str, Any]) -> bool:
        """Whether the bot asked for this kind of update."""
        kind = update_type(update)
        if self.allowed:
            return kind in self.allowed
        return kind not in _OFF_BY_DEFAULT

    def confirm(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative one keeps only the last ``-offset``."""
        if offset < 0:
            self.pending = self.pending[offset:]
        else:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]

    def ready(self, limit: int = 100) -> list[dict[str, Any]]:
        """Up to ``limit`` deliverable updates; unwanted kinds are dropped on the way."""
        self.pending = [u for u in self.pending if self.is_allowed(u)]
        return self.pending[:limit]

    def drop_all(self) -> None:
        """Forget everything pending (drop_pending_updates)."""
        self.pending.clear()


class WebhookPusher:
    """Delivers queued updates, in order, to the webhook while one is set."""

    attempts = 3
    retry_delay = 0.1

    def __init__(self, queue: UpdateQueue, signal: Signal) -> None:
        self._queue = queue
        self._signal = signal
        self.config: dict[str, Any] | None = None
        self.last_error: tuple[int, str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    def start(self) -> None:
        """Begin the delivery loop (call inside the running loop)."""
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Cancel delivery and close the HTTP client."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _next(self) -> dict[str, Any] | None:
        if self.config is None:
            return None
        ready = self._queue.ready(1)
        return ready[0] if ready else None

    async def _run(self) -> None:
        while True:
            update = await self._signal.wait_until(self._next, 3600.0)
            config = self.config
            if update is None or config is None:
                continue
            delivered = await self._deliver(update, config)
            if not delivered:
                log.warning("webhook delivery of update %s failed", update["update_id"])
            self._queue.confirm(update["update_id"] + 1)
            self._signal.notify()

    async def _deliver(self, update: dict[str, Any], config: dict[str, Any]) -> bool:
        assert self._http is not None
        headers = {}
        if config.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(config["secret_token"])
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.retry_delay)
            try:
                async with self._http.post(config["url"], json=update, headers=headers) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        return True
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {type(exc).__name__}"
            self.last_error = (int(time.time()), error)
        return False
