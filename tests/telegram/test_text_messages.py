"""The sender's text messages against the Telegram emulator: what reaches the chat, and
Telegram's refusals as the aiogram exceptions the sender handles."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bot.config import Settings
from bot.telegram.factory import create_bot
from bot.telegram.outbox import Button
from bot.telegram.text_messages import TextMessages
from sandbox.telegram import Limits, TelegramEmulator

ANNA = 2001
BUTTONS = (
    (Button(text="📞 Call back", callback_data="dl:1"),),
    (Button(text="Open", url="https://example.org/x"), Button(text="Spam", callback_data="s")),
)


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(limits=Limits.disabled()) as emu:
        emu.add_user(ANNA, "Anna", username="anna", language_code="en")
        emu.send_text(ANNA, "/start")
        yield emu


@pytest_asyncio.fixture
async def bot(emulator: TelegramEmulator) -> AsyncIterator[Bot]:
    settings = Settings(bot_token=emulator.token, telegram_api_url=emulator.base_url)
    created = create_bot(settings)
    try:
        yield created
    finally:
        await created.session.close()


async def test_a_message_is_sent_in_html_with_its_buttons_as_a_reply(
    emulator: TelegramEmulator, bot: Bot
) -> None:
    messages = TextMessages(bot, timeout=5)
    first = await messages.send(ANNA, "Incoming call <b>+7 900 123-45-67</b> &amp; co", ())
    second = await messages.send(ANNA, "Missed call", BUTTONS, reply_to=first)

    [shown_first, shown_second] = emulator.bot_messages(ANNA)
    assert (shown_first.message_id, shown_second.message_id) == (first, second)
    assert shown_first.text == "Incoming call +7 900 123-45-67 & co"  # parsed as HTML
    assert shown_first.buttons == []
    assert shown_second.reply_to == first
    assert shown_second.button_texts() == ["📞 Call back", "Open", "Spam"]
    assert shown_second.find_button("Open").url == "https://example.org/x"
    assert shown_second.find_button("Call").callback_data == "dl:1"
    method, params = emulator.requests[-1]
    assert method == "sendMessage"
    assert params["parse_mode"] == "HTML"


async def test_an_edit_changes_text_and_buttons_in_place(
    emulator: TelegramEmulator, bot: Bot
) -> None:
    messages = TextMessages(bot, timeout=5)
    sent = await messages.send(ANNA, "Ringing", BUTTONS)

    await messages.edit(ANNA, sent, "Call ended", ((Button(text="Note", callback_data="n"),),))

    [shown] = emulator.bot_messages(ANNA)
    assert shown.edited
    assert shown.text == "Call ended"
    assert shown.button_texts() == ["Note"]
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await messages.edit(ANNA, sent, "Call ended", ((Button(text="Note", callback_data="n"),),))


async def test_refusals_are_aiograms_exceptions(emulator: TelegramEmulator, bot: Bot) -> None:
    messages = TextMessages(bot, timeout=5)
    emulator.inject_error("sendMessage", 429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as flood:
        await messages.send(ANNA, "Ringing", ())
    assert flood.value.retry_after == 7

    emulator.inject_error("sendMessage", 502)
    with pytest.raises(TelegramServerError):
        await messages.send(ANNA, "Ringing", ())

    with pytest.raises(TelegramBadRequest):
        await messages.edit(ANNA, 999_999, "Gone", ())
    assert emulator.bot_messages(ANNA) == []


async def test_telegram_out_of_reach_is_a_network_error_without_the_token() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    token = "123456:SECRET-token-value"
    settings = Settings(bot_token=token, telegram_api_url=f"http://127.0.0.1:{port}")
    bot = create_bot(settings)
    try:
        with pytest.raises(TelegramNetworkError) as failed:
            await TextMessages(bot, timeout=5).send(ANNA, "Ringing", ())
    finally:
        await bot.session.close()
    assert "SECRET" not in str(failed.value)
