"""Fixtures for the Telegram emulator tests: an emulator, a real aiogram Bot, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from sandbox.telegram import Limits, TelegramEmulator

ANN = 1001
BOB = 1002
GROUP = -100200


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_bot(emulator: TelegramEmulator) -> Bot:
    """An unmodified aiogram Bot pointed at the emulator."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
    return Bot(
        emulator.token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def add_people(emulator: TelegramEmulator) -> None:
    emulator.add_user(ANN, "Ann", username="ann", language_code="en")
    emulator.add_user(BOB, "Bob", username="bob")
    emulator.add_group(GROUP, "Sales")


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(limits=Limits.disabled()) as emulator:
        add_people(emulator)
        yield emulator


@pytest_asyncio.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    client = make_bot(emu)
    try:
        yield client
    finally:
        await client.session.close()


@pytest_asyncio.fixture
async def clock() -> FakeClock:
    return FakeClock()


@pytest_asyncio.fixture
async def limited(clock: FakeClock) -> AsyncIterator[tuple[TelegramEmulator, Bot]]:
    """An emulator with Telegram's default flood limits on a hand-moved clock, and its bot."""
    async with TelegramEmulator(limits=Limits(), clock=clock) as emulator:
        add_people(emulator)
        client = make_bot(emulator)
        try:
            yield emulator, client
        finally:
            await client.session.close()
