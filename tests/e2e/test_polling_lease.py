"""One reader of getUpdates at a time, even when a worker loses its polling lease."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.app import App
from sandbox.telegram import TelegramEmulator
from tests.e2e.conftest import STRANGER
from tests.helpers import until


def _polls(emulator: TelegramEmulator) -> int:
    return sum(1 for method, _ in emulator.requests if method == "getUpdates")


async def test_a_worker_whose_lease_expired_stops_polling_until_it_is_free(
    emulator: TelegramEmulator, app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot")
    emulator.send_text(STRANGER, "/start")
    await emulator.wait_for_message(STRANGER)

    # Another worker took the lease while this one stood still.
    await app.redis.set(app.keys.polling_lease(), "another-worker", px=60_000)
    await until(lambda: "polling lease expired" in caplog.text, patience=10)
    await asyncio.sleep(0.5)
    polls = _polls(emulator)
    emulator.send_text(STRANGER, "/help")
    await asyncio.sleep(1.5)
    assert _polls(emulator) == polls, "it went on polling beside the lease holder"
    assert len(emulator.bot_messages(STRANGER)) == 1
    assert [u["message"]["text"] for u in emulator.pending_updates()] == ["/help"]

    await app.redis.delete(app.keys.polling_lease())  # the other worker is gone
    reply = await emulator.wait_for_message(STRANGER, lambda m: m.message_id > 3, timeout=5)
    assert reply.text.startswith("What I can do:\n/start")
    assert emulator.pending_updates() == []
