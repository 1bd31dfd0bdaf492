"""The long-running roles run on uvloop where it is installed."""

from __future__ import annotations

import asyncio

import pytest

from bot.runtime.event_loop import loop_factory, run_service


def test_the_service_runs_on_uvloop_when_installed() -> None:
    pytest.importorskip("uvloop")

    async def loop_module() -> str:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__module__

    assert loop_factory() is not None
    assert run_service(loop_module()).startswith("uvloop")


def test_without_uvloop_asyncio_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "uvloop", None)  # import fails, as on Windows

    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert loop_factory() is None
    assert run_service(loop_module()).startswith("asyncio")
