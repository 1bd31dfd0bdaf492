"""End-to-end fixtures: the Telegram emulator on loopback and the real app polling it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.app import App
from bot.domain import Role
from sandbox.mango import Employee, Group, Line, MangoLimits, MangoSimulator
from sandbox.telegram import Limits, TelegramEmulator
from tests.conftest import FAST, MANGO_ACCOUNT, StartApp

__all__ = ["FAST", "drained", "reconciled", "staff"]

LINE = "74950000000"
ADMIN = 1000
REP_ANNA = 2001  # her phone +7 999 111-22-33 is in the directory as extension 101
BORIS = 2002  # rep, extension 102
MARIA = 2003  # manager, extension 103
STRANGER = 3001
GROUP = -100500


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(limits=Limits.disabled()) as emu:
        emu.add_user(ADMIN, "Admin", username="boss", language_code="en")
        emu.add_user(REP_ANNA, "Anna", username="anna", language_code="ru")
        emu.add_user(STRANGER, "Stranger", username="stranger", language_code="en")
        emu.add_group(GROUP, "Sales")
        yield emu


@pytest_asyncio.fixture
async def mango() -> AsyncIterator[MangoSimulator]:
    """The company's MANGO OFFICE: three employees, a sales group, one line."""
    async with MangoSimulator(
        MANGO_ACCOUNT["api_key"],
        MANGO_ACCOUNT["api_salt"],
        limits=MangoLimits.disabled(),
        step_delay=0.005,
    ) as sim:
        sim.add_employee(
            Employee(extension="101", name="Anna Petrova", phones=["79991112233"], groups=[1])
        )
        sim.add_employee(
            Employee(extension="102", name="Boris Ivanov", phones=["79992223344"], groups=[1])
        )
        sim.add_employee(Employee(extension="103", name="Maria Smirnova", phones=["79993334455"]))
        sim.add_group(Group(id=1, name="Sales", extension="500", members=["101", "102"]))
        sim.add_line(Line(number=LINE, name="Main line"))
        yield sim


@pytest.fixture
def app_defaults() -> dict[str, Any]:
    return {"admin_ids": [ADMIN]}


@pytest_asyncio.fixture
async def app(start_app: StartApp) -> App:
    result: App = await start_app()
    return result


@pytest_asyncio.fixture
async def staffed(emulator: TelegramEmulator, start_app: StartApp) -> App:
    """The app with Anna (rep, 101), Boris (rep, 102) and Maria (manager, 103) linked, each
    having opened the bot once."""
    return await staff(emulator, await start_app())


async def staff(emulator: TelegramEmulator, app: App) -> App:
    """Anna (rep, 101), Boris (rep, 102) and Maria (manager, 103) open the bot and are
    linked; the app, for chaining."""
    emulator.add_user(BORIS, "Boris", username="boris", language_code="en")
    emulator.add_user(MARIA, "Maria", username="maria", language_code="en")
    for person in (REP_ANNA, BORIS, MARIA):
        emulator.send_text(person, "/start")
        await emulator.wait_for_message(person)
    await app.access.link("main", "101", REP_ANNA, Role.REP)
    await app.access.link("main", "102", BORIS, Role.REP)
    await app.access.link("main", "103", MARIA, Role.MANAGER)
    return app


async def drained(app: App, *, patience: float = 15.0) -> None:
    """Wait until every stored event is processed and every queued message delivered."""
    streams = [(app.keys.events_stream(), "workers")] + [
        (stream, "senders") for stream in app.outbox.streams()
    ]
    deadline = asyncio.get_running_loop().time() + patience
    quiet = 0
    while quiet < 3:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the pipeline did not drain")
        busy = await app.redis.zcard(app.keys.outbox_delayed())
        busy += await app.redis.zcard(app.keys.outbox_stalled())
        if app.worker.identifier is not None:
            busy += app.worker.identifier.pending  # caller look-ups in the background
        for stream, group in streams:
            for info in await app.redis.xinfo_groups(stream):
                if info["name"] == group:
                    busy += int(info["pending"]) + int(info.get("lag") or 0)
        quiet = quiet + 1 if busy == 0 else 0
        await asyncio.sleep(0.05)


async def reconciled(app: App) -> int:
    """Run the call-log reconciliation once, now, and wait for what it queued; how many
    calls it recovered."""
    [job] = [job for job in app.jobs if job.name == "reconcile"]
    recovered = await job.tick()
    assert isinstance(recovered, int)
    await drained(app)
    return recovered
