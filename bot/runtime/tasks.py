"""Stopping a process's long-running tasks without waiting forever on a stuck one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection

log = logging.getLogger(__name__)

STOP_GRACE = 5.0  # seconds a task has to stop when asked, and again when cancelled


async def stop_tasks(stop: asyncio.Event, tasks: Collection[asyncio.Task[None]]) -> None:
    """Ask the tasks to stop (set ``stop``); cancel those still running after a grace
    period. Never waits without bound: a stuck task is named in the log and left behind."""
    stop.set()
    _, running = await asyncio.wait(tasks, timeout=STOP_GRACE) if tasks else (set(), set())
    for task in running:
        task.cancel()
    if running:
        _, stuck = await asyncio.wait(running, timeout=STOP_GRACE)
        for task in stuck:
            log.error("task %s did not stop: %r", task.get_name(), task)
