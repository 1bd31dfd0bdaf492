"""A deadline for every test: a test still running after ``TEST_DEADLINE`` seconds has
the stacks of all its event loop's tasks printed and is cancelled, so a hang fails one
test with a picture of what waited instead of stalling the whole run.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

TEST_DEADLINE = float(os.environ.get("PBXGRAM_TEST_DEADLINE", "300"))


def _dump_and_cancel(test_name: str) -> None:
    """Runs in the loop: print every task's stack, then cancel the test's own task."""
    out = sys.__stderr__ or sys.stderr
    tasks = asyncio.all_tasks()
    print(f"\n!!! {test_name} ran past {TEST_DEADLINE:.0f}s; {len(tasks)} tasks:", file=out)
    for task in tasks:
        print(f"--- {task.get_name()}: {task.get_coro()!r}", file=out)
        task.print_stack(limit=15, file=out)
    out.flush()
    for task in tasks:
        coro = task.get_coro()
        if getattr(coro, "__name__", None) == test_name:
            task.cancel()


@pytest_asyncio.fixture(autouse=True)
async def _test_deadline(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    name = request.node.originalname or request.node.name
    timer = threading.Timer(
        TEST_DEADLINE, lambda: loop.call_soon_threadsafe(_dump_and_cancel, name)
    )
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
