"""End-to-end fixtures: the Telegram emulator on loopback and the real app polling it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest_asyncio
from limits import parse
from redis.asyncio import Redis

from bot.app import App, Tuning, running
from bot.config import Settings
from bot.domain import Role
from bot.pipeline.consumer import ConsumerOptions
from bot.telegram.sender import SendLimits
from sandbox.mango import Employee, Group, Line, MangoLimits, MangoSimulator
from sandbox.telegram import Limits, TelegramEmulator
from tests.conftest import MANGO_ACCOUNT

FAST = Tuning(
    consumer=ConsumerOptions(block_ms=100, claim_idle_ms=2000, claim_every_s=0.5),
    send_limits=SendLimits(
        global_limit=parse("1000/second"),
        private_chat=parse("100/second"),
        group_chat=parse("100/second"),
    ),
    recording_retry=0.2,
    delayed_poll=0.1,
)

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


@pytest_asyncio.fixture
async def start_app(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    make_settings: Callable[..., Settings],
    redis: Redis,  # an empty database for every test
) -> AsyncIterator[Callable[..., Any]]:
    """Start the real app (web + worker) against the emulator and the MANGO simulator.

    Call with Settings overrides; ``account={...}`` adds fields to the MANGO account;
    ``tuning`` replaces FAST.
    """
    stack: list[Any] = []

    async def start(
        account: dict[str, Any] | None = None, tuning: Tuning = FAST, **overrides: Any
    ) -> App:
        values: dict[str, Any] = {
            "bot_token": emulator.token,
            "telegram_api_url": emulator.base_url,
            "admin_ids": [ADMIN],
            "accounts": [{**MANGO_ACCOUNT, "api_url": mango.base_url, **(account or {})}],
        }
        values.update(overrides)
        context = running(make_settings(**values), web_role=True, worker_role=True, tuning=tuning)
        app = await context.__aenter__()
        stack.append(context)
        mango.webhook_url = f"{app.web_url}/pbx/main"
        return app

    yield start
    for context in reversed(stack):
        await context.__aexit__(None, None, None)


@pytest_asyncio.fixture
async def app(start_app: Callable[..., Any]) -> App:
    result: App = await start_app()
    return result


@pytest_asyncio.fixture
async def staffed(emulator: TelegramEmulator, start_app: Callable[..., Any]) -> App:
    """The app with Anna (rep, 101), Boris (rep, 102) and Maria (manager, 103) linked, each
    having opened the bot once."""
    emulator.add_user(BORIS, "Boris", username="boris", language_code="en")
    emulator.add_user(MARIA, "Maria", username="maria", language_code="en")
    app: App = await start_app()
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
        for stream, group in streams:
            for info in await app.redis.xinfo_groups(stream):
                if info["name"] == group:
                    busy += int(info["pending"]) + int(info.get("lag") or 0)
        quiet = quiet + 1 if busy == 0 else 0
        await asyncio.sleep(0.05)
