"""What every PBX API request costs the HTTP client beyond the request itself."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

import httpcore._synchronization as synchronization


class _Recorder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.searched: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        self.searched.append(fullname)
        return None


async def test_asking_which_async_library_runs_searches_for_no_module() -> None:
    """httpcore asks for each lock and event a request sets up. Without sniffio
    installed, each ask was a failed import searching the whole path."""
    recorder = _Recorder()
    sys.meta_path.insert(0, recorder)
    try:
        for _ in range(3):
            assert synchronization.current_async_library() == "asyncio"
    finally:
        sys.meta_path.remove(recorder)
    assert recorder.searched == []
