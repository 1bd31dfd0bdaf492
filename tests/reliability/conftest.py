"""Fixtures of the fault scenarios: the Telegram emulator, and a MANGO simulator with one
line and ring groups of two, which the shared ``start_app`` runs the real app on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from sandbox.mango import Employee, Group, Line, MangoLimits, MangoSimulator
from sandbox.telegram import Limits, TelegramEmulator
from tests.conftest import MANGO_ACCOUNT, StartApp

__all__ = ["StartApp"]

FAULTS_LINE = "74950000000"
FAULTS_GROUPS = 4  # ring groups 1..4, two employees each: 101+102, 103+104, ...


def faults_extensions(group: int) -> list[str]:
    """The two extensions ringing in ring group ``group`` (1-based)."""
    return [str(100 + 2 * group - 1), str(100 + 2 * group)]


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    """Telegram without flood limits (the scenarios inject their own failures)."""
    async with TelegramEmulator(limits=Limits.disabled()) as emulator:
        yield emulator


@pytest_asyncio.fixture
async def mango() -> AsyncIterator[MangoSimulator]:
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
