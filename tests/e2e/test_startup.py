"""Starting without Telegram: PBX events are taken at once, Telegram is reached in the
background, and whether it answers shows in the log, /readyz and pbxgram_telegram_up."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest

from bot.app import YOUNG_COLLECTION_THRESHOLD, App, running
from bot.config import Settings
from bot.domain import Role
from sandbox.mango import MangoSimulator
from sandbox.telegram import TelegramEmulator
from tests.conftest import FAST, MANGO_ACCOUNT, StartApp
from tests.e2e.conftest import LINE, REP_ANNA, STRANGER, drained
from tests.helpers import until

QUICK = replace(FAST, telegram_retry_first=0.05, telegram_retry_max=0.2, telegram_first_try=2.0)
CLIENT = "79001234567"
DOWN = "Telegram unreachable: TelegramNetworkError"
BACK = "Telegram reachable again after"


async def _ready(app: App) -> dict[str, str]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{app.web_url}/readyz")
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def _gauge(app: App) -> str:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{app.web_url}/metrics")).text
    [line] = [line for line in text.splitlines() if line.startswith("pbxgram_telegram_up ")]
    return line.split()[1]


async def test_pbx_events_are_taken_while_telegram_is_away(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp
) -> None:
    await emulator.stop()  # the port stays ours; nothing listens on it for now
    began = time.monotonic()
    app = await start_app(QUICK)
    assert time.monotonic() - began < 3, "start-up waited for Telegram"
    await app.access.link("main", "101", REP_ANNA, Role.REP)

    await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by=None)
    await mango.wait_idle()
    assert mango.posted, "the simulator posted nothing"
    assert {status for _, _, status in mango.posted} == {200}
    assert await app.redis.xlen(app.keys.events_stream()) >= len(mango.posted)
    assert emulator.bot_messages(REP_ANNA) == []

    await emulator.start()
    await drained(app, patience=30)
    texts = [m.text for m in emulator.bot_messages(REP_ANNA)]
    assert any("+7 900 123-45-67" in text for text in texts), emulator.describe(REP_ANNA)


async def test_telegram_state_flips_once_per_change(
    emulator: TelegramEmulator, start_app: StartApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    await emulator.stop()
    app = await start_app(QUICK)
    await until(lambda: caplog.text.count(DOWN) == 1)
    await until(lambda: app.telegram.up is False)
    assert (await _ready(app))["telegram"] == "down"
    assert await _gauge(app) == "0.0"

    await emulator.start()
    await until(lambda: app.telegram.up is True, patience=10)
    assert await _ready(app) == {"status": "ready", "telegram": "up"}
    assert await _gauge(app) == "1.0"
    emulator.send_text(STRANGER, "/start")  # polling began once Telegram answered
    assert "I am pbxgram" in (await emulator.wait_for_message(STRANGER, timeout=10)).text
    assert caplog.text.count(DOWN) == 1, "logged once per try, not once per change"
    assert caplog.text.count(BACK) == 1
    assert "Traceback" not in caplog.text


async def test_web_role_alone_never_calls_telegram(
    emulator: TelegramEmulator, mango: MangoSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        accounts=[{**MANGO_ACCOUNT, "api_url": mango.base_url}],
    )
    async with running(settings, web_role=True, worker_role=False, tuning=QUICK) as app:
        mango.webhook_url = f"{app.web_url}/pbx/main"
        assert await _ready(app) == {"status": "ready"}
        await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by=None)
        await mango.wait_idle()
        assert {status for _, _, status in mango.posted} == {200}
        assert await app.redis.xlen(app.keys.events_stream()) >= len(mango.posted)
        assert app.tasks == []
    assert emulator.requests == []


async def test_a_running_app_collects_young_objects_less_often_and_gives_the_setting_back(
    emulator: TelegramEmulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(bot_token=emulator.token, telegram_api_url=emulator.base_url)
    before = gc.get_threshold()
    async with running(settings, web_role=True, worker_role=False, tuning=QUICK):
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *before[1:])
        assert before[0] < YOUNG_COLLECTION_THRESHOLD
    assert gc.get_threshold() == before


async def test_web_role_in_webhook_mode_sets_the_webhook_in_the_background(
    emulator: TelegramEmulator, make_settings: Callable[..., Settings]
) -> None:
    await emulator.stop()
    settings = make_settings(
        bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        telegram_webhook=True,
        public_url="http://127.0.0.1:8443",
    )
    async with running(settings, web_role=True, worker_role=False, tuning=QUICK) as app:
        assert (await _ready(app))["telegram"] == "down"
        await emulator.start()
        await until(lambda: emulator.webhook is not None)
        assert (await _ready(app))["telegram"] == "up"
    assert {method for method, _ in emulator.requests} == {"getMe", "setWebhook"}
