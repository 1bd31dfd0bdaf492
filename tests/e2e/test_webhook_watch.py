"""Webhooks that fail verification again and again (a salt changed on one side): the
admins hear once when it starts, and once when it is over; a refusal or two is no incident."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import httpx

from bot.app import App
from sandbox.telegram import TelegramEmulator
from tests.conftest import StartApp
from tests.e2e.conftest import ADMIN, FAST
from tests.helpers import until

WATCH = replace(FAST, refusal_threshold=3, refusal_window=1.0, watch_period=0.1)
FAILING = (
    "⚠️ Webhooks of account main keep failing verification (3 within 1 min): its key, salt "
    "or token may have changed on one side. Compare pbxgram.toml with the PBX's settings; "
    "check-config prints what to paste."
)
VERIFIED = "✅ Webhooks of account main no longer fail verification."


async def forged(app: App, count: int) -> None:
    """MANGO call events signed with a salt that is not the account's."""
    async with httpx.AsyncClient() as http:
        for _ in range(count):
            form = {"vpbx_api_key": "test-api-key", "sign": "0" * 64, "json": json.dumps({})}
            answer = await http.post(f"{app.web_url}/pbx/main/events/call", data=form)
            assert answer.status_code == 403


def admin_texts(emulator: TelegramEmulator) -> list[str]:
    return [m.text for m in emulator.bot_messages(ADMIN) if "Webhooks" in m.text]


async def test_admins_hear_once_when_it_starts_and_once_when_it_is_over(
    emulator: TelegramEmulator, start_app: StartApp
) -> None:
    emulator.send_text(ADMIN, "/start")  # the admin reads English
    app = await start_app(WATCH)
    await emulator.wait_for_message(ADMIN)
    await forged(app, 3)
    await until(lambda: admin_texts(emulator) == [FAILING], 10, "no incident notice")
    await forged(app, 3)  # still failing: no second notice
    await until(lambda: admin_texts(emulator) == [FAILING, VERIFIED], 10, "never cleared")
    assert admin_texts(emulator) == [FAILING, VERIFIED]
    await forged(app, 3)  # a new incident is announced again
    await until(lambda: admin_texts(emulator)[2:] == [FAILING, VERIFIED], 10, "not again")


async def test_a_refusal_or_two_is_no_incident(
    emulator: TelegramEmulator, start_app: StartApp
) -> None:
    app = await start_app(WATCH)
    await forged(app, 2)
    assert await app.redis.get(app.keys.webhook_refusals("main")) == "2"
    await asyncio.sleep(WATCH.refusal_window + 5 * WATCH.watch_period)  # the window runs out
    assert await app.redis.get(app.keys.webhook_refusals("main")) is None
    assert admin_texts(emulator) == []
