"""Telegram long polling by one worker process at a time.

Telegram allows a single reader of getUpdates, so worker processes take turns through a
lease: use :class:`Polling` (``start()``, then ``await stop()``) wherever a process polls.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher
from redis.asyncio import Redis
from redis.exceptions import LockError

from bot.runtime.tasks import STOP_GRACE, stop_tasks
from bot.storage.lease import lease

log = logging.getLogger(__name__)

POLLING_LEASE_WAIT = 60.0  # seconds per attempt to become the worker that polls


class Polling:
    """Polls for ``dispatcher`` while this process holds the polling lease ``lease_key``."""

    def __init__(self, redis: Redis, lease_key: str, dispatcher: Dispatcher, bot: Bot) -> None:
        self._redis = redis
        self._key = lease_key
        self._dispatcher = dispatcher
        self._bot = bot
        self.leader = asyncio.Event()  # set while this process holds the lease
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin waiting for the lease, and poll once it is held."""
        self._task = asyncio.create_task(self._poll(), name="telegram-polling")

    async def _poll(self) -> None:
        """The other workers wait for the lease and take over if it frees up. A process
        that loses the lease (it stood still, or Redis was out of reach, for longer than
        the lease lasts) stops polling and waits for its turn again, so two never read
        at once."""
        while True:
            try:
                async with lease(self._redis, self._key, wait=POLLING_LEASE_WAIT) as held:
                    self.leader.set()
                    stepping_down = asyncio.create_task(
                        _stop_polling_when(held.lost, self._dispatcher), name="polling-lease-watch"
                    )
                    try:
                        await self._dispatcher.start_polling(
                            self._bot, handle_signals=False, close_bot_session=False
                        )
                    finally:
                        stepping_down.cancel()
                        await asyncio.wait({stepping_down})
                    if not held.lost.is_set():
                        return
                    log.warning("the polling lease expired; polling stops until it is free again")
            except LockError:
                pass  # another worker polls (or this one's lease expired): wait for the lease
            self.leader.clear()

    async def stop(self) -> None:
        """Stop polling the way aiogram intends (cancelling a running poll leaves its
        reader task behind). A stop asked for while aiogram is still starting up can be
        lost, so it is asked again until polling has ended; a process still waiting for
        the lease is simply cancelled."""
        task = self._task
        if task is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_GRACE
        while self.leader.is_set() and not task.done() and loop.time() < deadline:
            stopping = asyncio.create_task(self._dispatcher.stop_polling(), name="stop-polling")
            await asyncio.wait({stopping, task}, timeout=0.2, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            await asyncio.wait({stopping})
            if not stopping.cancelled():
                stopping.exception()  # "not started yet" is expected here; try again
        if not self.leader.is_set():
            task.cancel()  # still waiting for the lease: nothing to wind down
        await stop_tasks(asyncio.Event(), [task])


async def _stop_polling_when(lost: asyncio.Event, dispatcher: Dispatcher) -> None:
    await lost.wait()
    while True:
        try:
            await dispatcher.stop_polling()
            return
        except RuntimeError:  # aiogram is still starting up: ask again
            await asyncio.sleep(0.2)
