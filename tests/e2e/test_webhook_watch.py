"""Webhooks that fail verification again and again (a salt changed on one side), or an
account that sends no events for too long during working hours: the admins hear once when
it starts, and once when it is over; a refusal or two is no incident."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import datetime

import httpx

from bot.app import App
from bot.services.incidents import Incidents
from bot.services.silence_watch import SilenceWatch
from sandbox.mango import MangoSimulator
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


def silence_texts(emulator: TelegramEmulator) -> list[str]:
    return [m.text for m in emulator.bot_messages(ADMIN) if "call events" in m.text.lower()]


SILENT = (
    "⚠️ No call events from account main for 2s of working time since pbxgram started "
    "watching. The PBX may have stopped sending webhooks: check its settings (check-config "
    "prints the URLs to paste). Missed calls are still read from its call log where it has one."
)
SOUNDS_AGAIN = "✅ Call events from account main are coming again."


async def test_admins_hear_when_an_account_goes_quiet_and_when_it_speaks_again(
    emulator: TelegramEmulator, start_app: StartApp, mango: MangoSimulator
) -> None:
    emulator.send_text(ADMIN, "/start")
    app = await start_app(WATCH, account={"silence_alert_after": "2s"})
    await emulator.wait_for_message(ADMIN)
    assert silence_texts(emulator) == []  # not quiet for long yet

    await until(lambda: silence_texts(emulator) == [SILENT], 10, "no silence notice")
    await mango.play_inbound("74951234567", "79001234567", answered_by="101", record=False)
    await until(lambda: silence_texts(emulator) == [SILENT, SOUNDS_AGAIN], 10, "never cleared")
    status = await app.redis.get(app.keys.incident("silent", "main"))
    assert status is None


async def test_silence_counts_working_time_only(
    emulator: TelegramEmulator, start_app: StartApp
) -> None:
    app = await start_app(
        replace(WATCH, watch_period=3600),
        account={"silence_alert_after": "1h", "working_hours": "mon-fri 09:00-18:00"},
    )
    incidents = Incidents(
        app.redis, app.keys, app.access.admin_ids, app.notifier.notices, app.outbox
    )
    watch = SilenceWatch(app.redis, app.keys, incidents, app.settings.accounts, app.settings.zone)
    friday_evening = datetime(2026, 12, 11, 17, 30, tzinfo=app.settings.zone).timestamp()
    await app.redis.set(app.keys.last_event("main"), str(friday_evening))
    monday = datetime(2026, 12, 14, 9, 20, tzinfo=app.settings.zone).timestamp()
    await watch.check(now=monday)  # 30 + 20 minutes of working time: not yet
    assert not await app.redis.exists(app.keys.incident("silent", "main"))
    await watch.check(now=monday + 600)  # an hour of working time
    assert await app.redis.exists(app.keys.incident("silent", "main"))
