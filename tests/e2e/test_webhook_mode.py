"""Webhook mode: Telegram pushes updates to PUBLIC_URL/telegram/webhook with a secret token."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpx

from sandbox.telegram import TelegramEmulator
from tests.e2e.conftest import STRANGER


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_updates_arrive_by_webhook(
    emulator: TelegramEmulator, start_app: Callable[..., Any]
) -> None:
    port = _free_port()
    await start_app(telegram_webhook=True, public_url=f"http://127.0.0.1:{port}", web_port=port)
    assert emulator.webhook is not None
    assert emulator.webhook["url"] == f"http://127.0.0.1:{port}/telegram/webhook"
    assert emulator.webhook["secret_token"]

    emulator.send_text(STRANGER, "/start")
    reply = await emulator.wait_for_message(STRANGER)
    assert "I am pbxgram" in reply.text

    forged = {
        "update_id": 1,
        "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
    }
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{port}/telegram/webhook",
            json=forged,
            headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
        )
    assert response.status_code == 401
