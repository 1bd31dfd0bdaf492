"""MTS VPBX end to end: the real app (web + worker) against the Telegram emulator and the
MTS simulator. Cards, ring groups, missed alerts, click-to-call, recordings, refusals in
words, and subscriptions that expire, are renewed, and survive a restart.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest_asyncio
from redis.asyncio import Redis

from bot.app import App, Tuning, running
from bot.config import Settings
from bot.domain import Role, SubscriptionKind
from bot.pbx.mts.provider import MtsProvider
from sandbox.mts import Abonent, MtsSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import ADMIN, FAST, GROUP, REP_ANNA, drained
from tests.helpers import until

BORIS = 2002  # English, extension 102
MARIA = 2003  # manager, extension 103
CLIENT = "+79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"
TOKEN = "215ef687-e898-419d-810c-2864efc0b1d0"
KEY = "our-callback-key-123"
TUNING = replace(FAST, job_periods={"mts-subscriptions": 0.1}, summary_grace=0.3)
IDS = {"101": 1735, "102": 1736, "103": 1737}


@pytest_asyncio.fixture
async def pbx() -> AsyncIterator[MtsSimulator]:
    async with MtsSimulator(TOKEN, step_delay=0.005) as sim:
        sim.record_calls = True  # the company has call recording, and so does the account
        sim.add_abonent(Abonent(1735, "101", "Anna", "Petrova", "+79991112233"))
        sim.add_abonent(Abonent(1736, "102", "Boris", "Ivanov"))
        sim.add_abonent(Abonent(1737, "103", "Maria", "Smirnova"))
        yield sim


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest_asyncio.fixture
async def start(
    emulator: TelegramEmulator,
    pbx: MtsSimulator,
    make_settings: Callable[..., Settings],
    redis: Redis,
) -> AsyncIterator[Callable[..., Any]]:
    """Start the app (again) on one fixed port, so the callback URL stays the same."""
    port = _free_port()
    contexts: list[Any] = []

    async def go(tuning: Tuning = TUNING, **account: Any) -> App:
        settings = make_settings(
            bot_token=emulator.token,
            telegram_api_url=emulator.base_url,
            admin_ids=[ADMIN],
            web_port=port,
            public_url=f"http://127.0.0.1:{port}",
            accounts=[
                {
                    "id": "mts",
                    "provider": "mts",
                    "api_url": pbx.base_url,
                    "api_token": TOKEN,
                    "callback_key": KEY,
                    "recordings": True,
                    **account,
                }
            ],
        )
        context = running(settings, web_role=True, worker_role=True, tuning=tuning)
        app = await context.__aenter__()
        contexts.append(context)
        return app

    async def stop() -> None:
        await contexts.pop().__aexit__(None, None, None)

    go.stop = stop  # type: ignore[attr-defined]
    yield go
    while contexts:
        await contexts.pop().__aexit__(None, None, None)


async def _company(emulator: TelegramEmulator, start: Callable[..., Any], **account: Any) -> App:
    emulator.add_user(BORIS, "Boris", username="boris", language_code="en")
    emulator.add_user(MARIA, "Maria", username="maria", language_code="en")
    app: App = await start(**account)
    for person in (REP_ANNA, BORIS, MARIA):
        emulator.send_text(person, "/start")
        await emulator.wait_for_message(person)
    await app.access.link("mts", "101", REP_ANNA, Role.REP)
    await app.access.link("mts", "102", BORIS, Role.REP)
    await app.access.link("mts", "103", MARIA, Role.MANAGER)
    await app.repos.subscriptions.subscribe(GROUP, "mts", SubscriptionKind.MISSED)
    emulator.add_bot_to_group(GROUP, ADMIN)
    return app


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, start: Callable[..., Any], pbx: MtsSimulator) -> App:
    app = await _company(emulator, start)
    await until(lambda: all(pbx.live_subscriptions(i) for i in IDS.values()))
    return app


async def settled(app: App, pbx: MtsSimulator) -> None:
    """Everything played, every call closed (after the grace), every message delivered."""
    await pbx.wait_idle()
    for _ in range(2):
        await drained(app)
        deadline = asyncio.get_running_loop().time() + 10
        while await app.redis.zcard(app.keys.calls_closing()):
            assert asyncio.get_running_loop().time() < deadline, "calls were not closed"
            await asyncio.sleep(0.05)
    await drained(app)


def calls(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    return [m for m in emulator.bot_messages(chat) if "pbxgram" not in m.text]


def missed_alerts(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    return [
        m
        for m in emulator.bot_messages(chat)
        if ("Missed call" in m.text or "Пропущенный звонок" in m.text)
        and not any((b.callback_data or "").startswith("dl:") for row in m.buttons for b in row)
    ]


# setup --------------------------------------------------------------------------------------
async def test_the_bot_enables_api_crm_and_subscribes_linked_abonents(
    emulator: TelegramEmulator, pbx: MtsSimulator, company: App
) -> None:
    url = f"{company.settings.public_base()}/pbx/mts/events"
    assert pbx.services == {"apicrm": (url, KEY)}
    subscribed = [r.json["abonentId"] for r in pbx.calls_to("POST", "/api/subscription")]
    assert sorted(subscribed) == [1735, 1736, 1737]
    assert await pbx.probe() == [200]  # CHECK_ALIVE

    await company.repos.links.unlink(MARIA, "mts")
    await until(lambda: not pbx.live_subscriptions(1737))
    assert pbx.calls_to("DELETE", "/api/subscription")[0].json["abonentId"] == 1737


async def test_an_event_type_the_doc_does_not_list_is_no_failed_delivery(
    pbx: MtsSimulator, company: App
) -> None:
    """Section 3 (lines 68-70): the PBX counts failed deliveries and switches
    notifications off at the limit. A type beyond the six of section 4.7 (lines 695-704) is
    answered 200, so it adds nothing to that count, and is counted as ignored."""
    [(url, key)] = pbx.services.values()
    unknown = {"eventType": "CALL_PARKED", "abonentId": 1735, "payload": {"callId": "c1"}}

    assert await pbx.post(url, key, unknown) == 200
    assert await pbx.post(url, key, unknown) == 200
    assert pbx.delivery_errors == 0
    provider = company.providers.get("mts")
    assert isinstance(provider, MtsProvider)
    assert provider.ignored.counts == {"CALL_PARKED": 2}


async def test_webhook_mode_makes_no_subscriptions(
    emulator: TelegramEmulator, pbx: MtsSimulator, start: Callable[..., Any]
) -> None:
    app = await _company(emulator, start, mode="webhook")
    await until(lambda: "webhook" in pbx.services)
    await pbx.ring_group(CLIENT, ["101"], answered_by="101")
    await settled(app, pbx)

    assert pbx.calls_to("POST", "/api/subscription") == []
    [card, _recording] = calls(emulator, REP_ANNA)
    assert card.text.startswith("✅ Звонок завершён")


# calls ----------------------------------------------------------------------------------------
async def test_incoming_card_then_ended_with_its_recording(
    emulator: TelegramEmulator, pbx: MtsSimulator, company: App
) -> None:
    ring = asyncio.create_task(
        pbx.ring_group(CLIENT, ["101"], answered_by="101", talk=0.5, not_ready=2)
    )
    card = await emulator.wait_for_message(REP_ANNA, lambda m: "Входящий звонок" in m.text)
    assert CLIENT_SHOWN in card.text
    await ring
    await settled(company, pbx)

    [card, recording] = calls(emulator, REP_ANNA)
    assert card.text.startswith("✅ Звонок завершён")
    assert card.edited
    assert [b.text for b in card.buttons[0]] == ["📞 Перезвонить"]  # then the outcome tags
    assert recording.file is not None
    [track] = pbx.recordings
    fetched = pbx.calls_to("GET", f"/api/callRecording/mp3/{track}")
    assert [r.status for r in fetched] == [404, 404, 200]  # not ready at first
    assert missed_alerts(emulator, GROUP) == []


async def test_ring_group_answered_elsewhere_is_not_missed(
    emulator: TelegramEmulator, pbx: MtsSimulator, company: App
) -> None:
    await pbx.ring_group(CLIENT, ["101", "102"], answered_by="102")
    await settled(company, pbx)

    [anna_card] = calls(emulator, REP_ANNA)
    assert anna_card.text.startswith("👥 Ответил(а) Boris Ivanov")
    assert CLIENT_SHOWN in anna_card.text
    boris_card = calls(emulator, BORIS)[0]
    assert boris_card.text.startswith("✅ Call ended")
    for chat in (REP_ANNA, BORIS, MARIA, GROUP):
        assert missed_alerts(emulator, chat) == [], chat


async def test_nobody_answers_one_missed_alert(
    emulator: TelegramEmulator, pbx: MtsSimulator, company: App
) -> None:
    await pbx.ring_group(CLIENT, ["101", "102"])
    await settled(company, pbx)

    [alert] = missed_alerts(emulator, GROUP)
    assert CLIENT_SHOWN in alert.text
    assert "Звонок шёл на: Anna Petrova, Boris Ivanov" in alert.text  # the group is Russian
    assert len(missed_alerts(emulator, MARIA)) == 1
    [anna_card] = calls(emulator, REP_ANNA)[:1]
    assert anna_card.text.startswith("❌ Пропущенный звонок")
    assert len(pbx.recordings) == 0


async def test_the_caller_s_name_the_pbx_sends_is_on_the_card_and_the_alert(
    emulator: TelegramEmulator, pbx: MtsSimulator, company: App
) -> None:
    pbx.caller_names[CLIENT] = "Иван Кузнецов"  # sent as remotePartyName
    await pbx.ring_group(CLIENT, ["101", "102"])
    await settled(company, pbx)

    [alert] = missed_alerts(emulator, GROUP)
    assert f"Иван Кузнецов, {CLIENT_SHOWN} в " in alert.text
    anna_card = calls(emulator, REP_ANNA)[0]
    assert anna_card.text.splitlines()[:2] == [
        "❌ Пропущенный звонок",
        f"Иван Кузнецов, {CLIENT_SHOWN}",
    ]


async def test_spam_is_muted_without_a_pbx_black_list(
    emulator: TelegramEmulator, pbx: MtsSimulator, company: App
) -> None:
    await pbx.ring_group(CLIENT, ["101", "102"])
    await settled(company, pbx)
    [alert] = missed_alerts(emulator, MARIA)
    data = alert.find_button("Spam").callback_data
    assert data is not None
    emulator.press_button(MARIA, MARIA, alert.message_id, data)
    said = await emulator.wait_for_message(MARIA, lambda m: m.text.startswith("🚫 +7"))
    assert said.text.endswith("(they stay in the call log).")  # no PBX black list to offer
    assert said.buttons == []

    await pbx.ring_group(CLIENT, ["101", "102"])
    await settled(company, pbx)
    assert len(missed_alerts(emulator, MARIA)) == 1
    assert len(missed_alerts(emulator, GROUP)) == 1


async def test_choosing_the_outgoing_line_is_refused_in_words(
    emulator: TelegramEmulator, company: App
) -> None:
    emulator.send_text(MARIA, "/line")
    answer = await emulator.wait_for_message(MARIA, lambda m: m.text.startswith("/line"))
    assert answer.text.startswith("/line is not available: your PBX (")


async def test_call_back_from_the_card_dials_from_the_own_abonent(
    emulator: TelegramEmulator, pbx: MtsSimulator, company: App
) -> None:
    await pbx.ring_group(CLIENT, ["101", "102"])
    await settled(company, pbx)
    [boris_card] = calls(emulator, BORIS)[:1]
    button = boris_card.find_button("Call back")
    assert boris_card.text.startswith("❌ Missed call")
    assert button.callback_data is not None

    emulator.press_button(BORIS, BORIS, boris_card.message_id, button.callback_data)
    await until(lambda: bool(pbx.calls_to("POST", "/api/user/1736/calls")))
    await settled(company, pbx)

    [dial] = pbx.calls_to("POST", "/api/user/1736/calls")
    assert dial.query == {"address": f"tel:{CLIENT}"}
    assert dial.status == 201
    assert pbx.calls_to("POST", "/api/user/1735/calls") == []
    [alert] = missed_alerts(emulator, GROUP)
    assert "✅ Перезвонил(а) Boris Ivanov" in alert.text  # the client answered Boris's call
    assert alert.buttons == []
    # The PBX's 201 is all it says about the command: the message shows it accepted.
    assert (
        f"📞 The PBX is calling you on 102. Pick up, and it will connect you to {CLIENT_SHOWN}."
        in [m.text for m in calls(emulator, BORIS)]
    ), emulator.describe(BORIS)


async def test_sms_and_balance_are_refused_in_words(
    emulator: TelegramEmulator, pbx: MtsSimulator, company: App
) -> None:
    emulator.send_text(BORIS, "/sms +7 900 123-45-67 hello")
    sms = await emulator.wait_for_message(BORIS, lambda m: "/sms" in m.text)
    emulator.send_text(MARIA, "/balance")
    balance = await emulator.wait_for_message(MARIA, lambda m: "MTS" in m.text)

    assert sms.text == "/sms is not available: your PBX (MTS VPBX) does not offer it."
    assert balance.text == "/balance is not available: your PBX (MTS VPBX) does not offer it."
    await drained(company)
    assert [r.path for r in pbx.requests if "/calls" in r.path] == []


# subscriptions ------------------------------------------------------------------------------
async def test_expiring_subscriptions_are_renewed_and_events_keep_coming(
    emulator: TelegramEmulator, pbx: MtsSimulator, start: Callable[..., Any]
) -> None:
    pbx.lifetime = 1.5
    app = await _company(emulator, start)
    await until(lambda: all(pbx.live_subscriptions(i) for i in IDS.values()))
    first = {r.json["abonentId"] for r in pbx.calls_to("POST", "/api/subscription")}

    await until(lambda: len(pbx.calls_to("PUT", "/api/subscription")) >= 6, patience=10)
    await asyncio.sleep(pbx.lifetime)  # longer than a subscription lives
    assert all(pbx.live_subscriptions(i) for i in IDS.values())
    assert {r.json["abonentId"] for r in pbx.calls_to("POST", "/api/subscription")} == first
    assert len(pbx.calls_to("POST", "/api/subscription")) == 3  # renewed, not made again

    pbx.expire(1735)  # the PBX ends one: SUBSCRIPTION_TERMINATION, then a new subscription
    await until(lambda: len(pbx.calls_to("POST", "/api/subscription")) == 4)
    assert pbx.delivered("SUBSCRIPTION_TERMINATION", 1735)[0].status == 200

    await pbx.ring_group(CLIENT, ["101"], answered_by="101")
    await settled(app, pbx)
    assert calls(emulator, REP_ANNA)[0].text.startswith("✅ Звонок завершён")


async def test_a_restart_loses_nothing(
    emulator: TelegramEmulator, pbx: MtsSimulator, start: Callable[..., Any]
) -> None:
    app = await _company(emulator, start)
    await until(lambda: all(pbx.live_subscriptions(i) for i in IDS.values()))
    ring = asyncio.create_task(pbx.ring_group(CLIENT, ["101", "102"], answered_by="102", talk=1))
    await emulator.wait_for_message(BORIS, lambda m: CLIENT_SHOWN in m.text)  # his card
    assert not ring.done()  # they are still talking while the bot restarts
    await start.stop()  # type: ignore[attr-defined]
    app = await start()
    await ring
    await settled(app, pbx)

    assert len(pbx.calls_to("POST", "/api/subscription")) == 3  # no double subscription
    assert len(pbx.calls_to("POST", "/api/service/apicrm")) == 1
    [anna_card] = calls(emulator, REP_ANNA)
    assert anna_card.text.startswith("👥 Ответил(а) Boris Ivanov")
    for chat in (REP_ANNA, BORIS, MARIA, GROUP):
        assert missed_alerts(emulator, chat) == [], chat
    assert len([m for m in calls(emulator, BORIS) if m.file]) == 1


async def test_admins_hear_once_when_subscriptions_cannot_be_kept_and_once_when_they_are(
    emulator: TelegramEmulator, pbx: MtsSimulator, start: Callable[..., Any]
) -> None:
    pbx.lifetime = 1.5
    await _company(emulator, start)
    await until(lambda: all(pbx.live_subscriptions(i) for i in IDS.values()))
    pbx.fail_next("PUT", "/api/subscription", 503, times=12)  # renewals fail for a while

    def notices() -> list[str]:
        return [m.text for m in emulator.bot_messages(ADMIN) if "MTS VPBX:" in m.text]

    failing = (
        "⚠️ MTS VPBX: the event subscriptions of account mts cannot be kept up, so calls may "
        "stop reaching the bot. pbxgram keeps trying; the bot's log has the details."
    )
    renewed = "✅ MTS VPBX: the event subscriptions of account mts are kept up again."
    await until(lambda: notices() == [failing, renewed], patience=20)
    await asyncio.sleep(1)  # renewals keep succeeding: nothing more is said
    assert notices() == [failing, renewed]
