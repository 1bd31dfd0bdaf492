"""The event loop the long-running roles run on.

Use :func:`run_service` for ``pbxgram run|web|worker``: it runs on uvloop where uvloop is
installed (Linux and macOS), which spends much less CPU per socket read, write and timer
than asyncio's own loop, and falls back to asyncio's loop elsewhere. Short commands keep
plain :func:`asyncio.run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop constructor, or None (asyncio's default loop) without uvloop."""
    try:
        import uvloop
    except ImportError:  # Windows: no uvloop
        return None
    return uvloop.new_event_loop


def run_service(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to the end on the fastest loop available."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
