"""A direct reply that meets Telegram's 429 is sent again after ``retry_after``."""

from __future__ import annotations

from bot.app import App
from sandbox.telegram import TelegramEmulator
from tests.e2e.conftest import REP_ANNA


async def test_reply_waits_out_a_429(emulator: TelegramEmulator, app: App) -> None:
    emulator.inject_error("sendMessage", 429, count=1, retry_after=1)
    emulator.send_text(REP_ANNA, "/help")

    reply = await emulator.wait_for_message(REP_ANNA, lambda m: m.text.startswith("Что я умею"))
    assert reply.text.startswith("Что я умею")
    assert [f for f in emulator.failures if f[0] == "sendMessage"] != []  # the 429 happened
    assert len(emulator.bot_messages(REP_ANNA)) == 1
