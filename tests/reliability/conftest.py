"""Fixtures of the fault scenarios (prefixed ``faults_``): the Telegram emulator, a MANGO
simulator with one line and ring groups of two, and the real app (web + worker) on them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest_asyncio

from bot.app import App, Tuning, running
from bot.config import Settings
from sandbox.mango import Employee, Group, Line, MangoLimits, MangoSimulator
from sandbox.telegram import Limits, TelegramEmulator
from tests.conftest import MANGO_ACCOUNT
from tests.e2e.conftest import FAST

FAULTS_LINE = "74950000000"
FAULTS_GROUPS = 4  # ring groups 1..4, two employees each: 101+102, 103+104, ...

StartApp = Callable[..., Awaitable[App]]


def faults_extensions(group: int) -> list[str]:
    """The two extensions ringing in ring group ``group`` (1-based)."""
    return [str(100 + 2 * group - 1), str(100 + 2 * group)]


@pytest_asyncio.fixture
async def faults_emulator() -> AsyncIterator[TelegramEmulator]:
    """Telegram without flood limits (the scenarios inject their own failures)."""
    async with TelegramEmulator(limits=Limits.disabled()) as emulator:
        yield emulator


@pytest_asyncio.fixture
async def faults_mango() -> AsyncIterator[MangoSimulator]:
    """MANGO with one line and FAULTS_GROUPS ring groups; no rate limits unless set."""
    async with MangoSimulator(
        MANGO_ACCOUNT["api_key"],
        MANGO_ACCOUNT["api_salt"],
        limits=MangoLimits.disabled(),
        step_delay=0.005,
    ) as sim:
        for group in range(1, FAULTS_GROUPS + 1):
            members = faults_extensions(group)
            for extension in members:
                sim.add_employee(
                    Employee(
                        extension=extension,
                        name=f"Employee {extension}",
                        phones=[f"7999000{extension}"],
                        groups=[group],
                    )
                )
            sim.add_group(
                Group(id=group, name=f"Group {group}", extension=f"5{group:02d}", members=members)
            )
        sim.add_line(Line(number=FAULTS_LINE, name="Main line"))
        yield sim


@pytest_asyncio.fixture
async def faults_start_app(
    faults_emulator: TelegramEmulator,
    faults_mango: MangoSimulator,
    make_settings: Callable[..., Settings],
) -> AsyncIterator[StartApp]:
    """Start the real app against the emulator and the simulator; stopped after the test.

    Call with ``tuning=`` to change timings and Settings overrides (e.g. ``redis_url``).
    """
    async with AsyncExitStack() as stack:

        async def start(tuning: Tuning = FAST, **overrides: Any) -> App:
            values: dict[str, Any] = {
                "bot_token": faults_emulator.token,
                "telegram_api_url": faults_emulator.base_url,
                "accounts": [{**MANGO_ACCOUNT, "api_url": faults_mango.base_url}],
                **overrides,
            }
            settings = make_settings(**values)
            app = await stack.enter_async_context(
                running(settings, web_role=True, worker_role=True, tuning=tuning)
            )
            faults_mango.webhook_url = f"{app.web_url}/pbx/main"
            return app

        yield start
