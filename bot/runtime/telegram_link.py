"""Reaching Telegram in the background: ``getMe``, the command menu, then the webhook or
long polling, tried again with capped exponential backoff until Telegram answers.

Use :class:`TelegramLink` wherever a process talks to Telegram; nothing else in the
process waits for it, so PBX events are taken and processed while Telegram is away.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from bot.errors import ConfigError
from bot.runtime.polling import Polling
from bot.telegram.connection import TelegramState

log = logging.getLogger(__name__)

REJECTED = "BOT_TOKEN: Telegram rejected this token"
ATTEMPT_TIMEOUT = 30.0  # seconds for one round of set-up calls before it counts as a failure
UNREACHABLE = (TelegramNetworkError, TelegramServerError, TimeoutError)


@dataclass(frozen=True)
class Backoff:
    """Pauses between tries: ``first`` seconds, doubling up to ``cap``, each drawn at random
    from its upper half so that replicas do not knock all at once."""

    first: float = 1.0
    cap: float = 60.0

    def pause(self, failures: int) -> float:
        """The pause after ``failures`` failed tries in a row (1 or more)."""
        ceiling = min(self.cap, self.first * 2 ** min(failures - 1, 32))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


class TelegramLink:
    """Connects to Telegram in the background and then starts ``polling`` (if any).

    ``setup`` is the rest of the set-up after ``getMe`` (the menu, the webhook, or
    deleting it before polling); it must be safe to run again after a failure. A token
    Telegram rejects ends the task with :class:`ConfigError`.
    """

    def __init__(
        self,
        bot: Bot,
        state: TelegramState,
        setup: Callable[[], Awaitable[None]],
        *,
        polling: Polling | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self._bot = bot
        self._state = state
        self._setup = setup
        self._polling = polling
        self._backoff = backoff or Backoff()
        self._first_try = asyncio.Event()
        self._awaited = False  # someone waits in first_try() and raises what ends the link
        self._task: asyncio.Task[None] | None = None
        state.used = True

    def start(self) -> asyncio.Task[None]:
        """Begin connecting. The task lasts until :meth:`close`, so its ending early always
        means a failure (a rejected token)."""
        self._task = asyncio.create_task(self._run(), name="telegram-link")
        return self._task

    async def first_try(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait up to ``timeout`` seconds for the first try to end; raise what ended the
        link (a rejected token) if it ended that way."""
        task = self._task
        assert task is not None, "start() first"
        waiter = asyncio.create_task(self._first_try.wait())
        self._awaited = True
        try:
            await asyncio.wait({task, waiter}, timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            self._awaited = False
            waiter.cancel()
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]

    async def close(self) -> None:
        """Stop trying (on shutdown); polling, once started, is stopped by its owner."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait({self._task})

    async def _run(self) -> None:
        await self._connect()
        await asyncio.Event().wait()  # connected; polling, if any, runs in its own task

    async def _connect(self) -> None:
        failures = 0
        while True:
            try:
                async with asyncio.timeout(ATTEMPT_TIMEOUT):
                    me = await self._bot.me()
                    await self._setup()
            except TelegramUnauthorizedError:
                if not self._awaited:  # no one waits for it to raise: say it in the log
                    log.error("%s; stopping", REJECTED)
                raise ConfigError(REJECTED) from None
            except TelegramRetryAfter as exc:
                pause = float(exc.retry_after)
            except UNREACHABLE as exc:
                self._state.mark_down(exc)
                failures += 1
                pause = self._backoff.pause(failures)
            else:
                self._state.mark_up()
                log.info("bot @%s is up", me.username)
                if self._polling is not None:
                    self._polling.start()
                return
            finally:
                self._first_try.set()
            await asyncio.sleep(pause)
