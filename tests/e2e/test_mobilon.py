"""Mobilon end to end: the real app, the Telegram emulator and the Mobilon simulator.

Rings reach the bot as Mobilon's URL webhook (``number`` and the employee's ``key``);
the bot learns how each call ended from the journal and call info, so people see the
same cards, missed alerts, summaries, recordings and "Call back" as with any PBX.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bot.app import App, Tuning, running
from bot.config import Settings
from bot.domain import Role, SubscriptionKind
from bot.pbx.mobilon.provider import MobilonProvider
from bot.pbx.mobilon.redis_keys import MobilonKeys
from sandbox.mobilon import MobilonSimulator, Subscriber
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import ADMIN, FAST, GROUP, REP_ANNA, drained

BORIS = 2002  # English, extension 102
TOKEN = "mobilon-account-token"
ANNA_KEY, BORIS_KEY = "anna-key-0001", "boris-key-0002"
CLIENT = "79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"
MOBILON_FAST = replace(FAST, job_periods={"mobilon-calls": 0.05})


@pytest_asyncio.fixture
async def mobilon() -> AsyncIterator[MobilonSimulator]:
    async with MobilonSimulator(TOKEN, step_delay=0.02) as sim:
        sim.add_subscriber(Subscriber(extension="101", key=ANNA_KEY))
        sim.add_subscriber(Subscriber(extension="102", key=BORIS_KEY))
        yield sim


@pytest.fixture
def mobilon_tuning() -> Tuning:
    """The app's timings (a test module may override it)."""
    return MOBILON_FAST


@pytest_asyncio.fixture
async def company(
    emulator: TelegramEmulator,
    mobilon: MobilonSimulator,
    make_settings: Callable[..., Settings],
    redis: Redis,  # an empty database for every test
    mobilon_tuning: Tuning,
) -> AsyncIterator[App]:
    """Anna (101) and Boris (102) linked, both keys set, a group following the account."""
    emulator.add_user(BORIS, "Boris", username="boris", language_code="en")
    account: dict[str, Any] = {
        "id": "mob",
        "provider": "mobilon",
        "api_token": TOKEN,
        "api_url": mobilon.base_url,
        "employees": [
            {"extension": "101", "name": "Anna Petrova"},
            {"extension": "102", "name": "Boris Ivanov"},
        ],
    }
    settings = make_settings(
        bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        admin_ids=[ADMIN],
        accounts=[account],
    )
    async with running(settings, web_role=True, worker_role=True, tuning=mobilon_tuning) as app:
        mobilon.webhook_url = f"{app.web_url}/pbx/mob/incoming?number={{NUMBER}}&key={{KEY}}"
        for person in (REP_ANNA, BORIS):
            emulator.send_text(person, "/start")
            await emulator.wait_for_message(person)
        await app.access.link("mob", "101", REP_ANNA, Role.REP)
        await app.access.link("mob", "102", BORIS, Role.REP)
        keys = provider_of(app).employee_keys
        await keys.set("mob", "101", ANNA_KEY)
        await keys.set("mob", "102", BORIS_KEY)
        await app.repos.subscriptions.subscribe(GROUP, "mob", SubscriptionKind.MISSED)
        await app.repos.subscriptions.subscribe(GROUP, "mob", SubscriptionKind.SUMMARY)
        emulator.add_bot_to_group(GROUP, ADMIN)
        yield app


def provider_of(app: App) -> MobilonProvider:
    provider = app.providers.get("mob")
    assert isinstance(provider, MobilonProvider)
    return provider


def calls(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    """The bot's messages about calls (after its answer to /start)."""
    return [m for m in emulator.bot_messages(chat) if "pbxgram" not in m.text]


def missed_alerts(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    """Missed-call alerts (cards, which carry a "dl:" call-back button, left out)."""
    return [
        m
        for m in emulator.bot_messages(chat)
        if ("Missed call" in m.text or "Пропущенный звонок" in m.text)
        and not any((b.callback_data or "").startswith("dl:") for row in m.buttons for b in row)
    ]


async def followed_to_the_end(app: App, *, patience: float = 15.0) -> None:
    """Wait until the bot learned how every call ended and everything was delivered."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    book = provider_of(app).calls
    while True:
        followed = await app.redis.zrange(MobilonKeys.of(app.keys, "mob").followed(), 0, -1)
        calls = [await book.load("mob", str(call_id)) for call_id in followed]
        if all(call is None or call.finished_at is not None for call in calls):
            break
        if loop.time() > deadline:
            raise TimeoutError("calls are still in progress")
        await asyncio.sleep(0.05)
    await drained(app)


async def test_incoming_card_goes_to_the_employee_of_the_key(
    emulator: TelegramEmulator, mobilon: MobilonSimulator, company: App
) -> None:
    call = await mobilon.ring(CLIENT, ["101"])

    card = await emulator.wait_for_message(REP_ANNA, lambda m: "Входящий звонок" in m.text)
    assert card.text == f"📞 Входящий звонок\n{CLIENT_SHOWN}"
    assert calls(emulator, BORIS) == []

    mobilon.finish(call, answered_by="101", talk=30, record=False)
    ended = await emulator.wait_for_message(
        REP_ANNA, lambda m: m.message_id == card.message_id and "завершён" in m.text
    )
    await followed_to_the_end(company)
    assert re.fullmatch(
        rf"✅ Звонок завершён\n{re.escape(CLIENT_SHOWN)}\nРазговор: 0:(29|30|31)", ended.text
    )
    assert [b.text for b in ended.buttons[0]] == ["📞 Перезвонить"]  # then the outcome tags
    assert [m.message_id for m in calls(emulator, REP_ANNA)] == [card.message_id]
    assert calls(emulator, BORIS) == []
    for chat in (REP_ANNA, BORIS, GROUP):
        assert missed_alerts(emulator, chat) == [], chat
    [summary] = [m for m in emulator.bot_messages(GROUP) if CLIENT_SHOWN in m.text]
    assert CLIENT_SHOWN in summary.text and "Anna Petrova" in summary.text


async def test_ring_group_answered_elsewhere_is_missed_for_nobody(
    emulator: TelegramEmulator, mobilon: MobilonSimulator, company: App
) -> None:
    await mobilon.play_inbound(CLIENT, ["101", "102"], answered_by="102", record=False)
    await followed_to_the_end(company)

    assert [w[1:] for w in mobilon.webhooks] == [("101", 200), ("102", 200)]
    [anna_card] = calls(emulator, REP_ANNA)
    assert anna_card.text == f"👥 Ответил(а) Boris Ivanov\n{CLIENT_SHOWN}"
    [boris_card] = calls(emulator, BORIS)
    assert boris_card.text.startswith(f"✅ Call ended\n{CLIENT_SHOWN}\nTalk time: 0:")
    for chat in (REP_ANNA, BORIS, GROUP):
        assert missed_alerts(emulator, chat) == [], chat
    journal_requests = mobilon.received("/api/call/journal")
    assert journal_requests and all(q["format"] == "xml" for q in journal_requests)
    assert all(q["token"] == TOKEN for q in journal_requests)


async def test_missed_call_alerts_everyone_it_rang_once(
    emulator: TelegramEmulator, mobilon: MobilonSimulator, company: App
) -> None:
    await mobilon.play_inbound(CLIENT, ["101", "102"], answered_by=None)
    await followed_to_the_end(company)

    [boris_alert] = missed_alerts(emulator, BORIS)
    assert re.fullmatch(
        rf"❌ Missed call\n{re.escape(CLIENT_SHOWN)} at \d\d:\d\d\n"
        r"It rang: Anna Petrova, Boris Ivanov",
        boris_alert.text,
    )
    assert len(missed_alerts(emulator, REP_ANNA)) == 1
    assert len(missed_alerts(emulator, GROUP)) == 1
    anna_card = next(
        m for m in calls(emulator, REP_ANNA) if m not in missed_alerts(emulator, REP_ANNA)
    )
    assert anna_card.text == f"❌ Пропущенный звонок\n{CLIENT_SHOWN}"


async def test_call_back_from_the_card_uses_the_employees_key(
    emulator: TelegramEmulator, mobilon: MobilonSimulator, company: App
) -> None:
    await mobilon.play_inbound(CLIENT, ["101", "102"], answered_by=None)
    await followed_to_the_end(company)
    card = next(
        m
        for m in calls(emulator, REP_ANNA)
        if m.text.startswith("❌ Пропущенный звонок\n")
        and m not in missed_alerts(emulator, REP_ANNA)
    )
    button = card.find_button("Перезвонить")

    emulator.press_button(REP_ANNA, REP_ANNA, card.message_id, button.callback_data or "")

    status = await emulator.wait_for_message(
        REP_ANNA, lambda m: m.reply_to == card.message_id and "АТС звонит вам" in m.text
    )
    assert status.text == (
        f"📞 АТС звонит вам на 101. Возьмите трубку, и она соединит вас с {CLIENT_SHOWN}."
    )
    assert mobilon.calls_to_subscriber() == [{"key": ANNA_KEY, "outboundNumber": CLIENT}]
    await followed_to_the_end(company)
    [boris_alert] = missed_alerts(emulator, BORIS)
    assert re.search(r"✅ Called back by Anna Petrova at \d\d:\d\d$", boris_alert.text)
    assert not boris_alert.buttons


async def test_recording_is_delivered_as_audio_once_ready(
    emulator: TelegramEmulator, mobilon: MobilonSimulator, company: App
) -> None:
    mobilon.recording_ready_after = 1  # record_url answers "not found" the first time

    call = await mobilon.play_inbound(CLIENT, ["101"], answered_by="101", talk=65)
    audio = await emulator.wait_for_message(REP_ANNA, lambda m: m.file is not None, timeout=15)
    await followed_to_the_end(company)

    [card] = [m for m in calls(emulator, REP_ANNA) if m.file is None]
    assert audio.reply_to == card.message_id
    assert re.fullmatch(
        rf"🎙 Запись разговора · \d\d:\d\d\n{re.escape(CLIENT_SHOWN)} — Anna Petrova", audio.text
    )
    record_requests = mobilon.received("/api/call/record")
    assert [q["callid"] for q in record_requests] == [call.callid, call.callid]


async def test_call_without_a_key_says_an_admin_must_set_it(
    emulator: TelegramEmulator, mobilon: MobilonSimulator, company: App
) -> None:
    await provider_of(company).employee_keys.remove("mob", "102")

    emulator.send_text(BORIS, "/call +7 900 123-45-67")

    status = await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("❌"))
    assert status.text == (
        f"❌ The call to {CLIENT_SHOWN} did not go through. No Mobilon key is set for "
        "extension 102, so the PBX cannot call from it. Ask an admin to set it: "
        "/mobilonkey 102 <key>."
    )
    assert mobilon.calls_to_subscriber() == []


async def test_call_refused_by_the_pbx_is_explained(
    emulator: TelegramEmulator, mobilon: MobilonSimulator, company: App
) -> None:
    mobilon.subscribers[BORIS_KEY].registered = False

    emulator.send_text(BORIS, "/call +7 900 123-45-67")

    status = await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("❌"))
    assert status.text == (
        f"❌ The call to {CLIENT_SHOWN} did not go through. The employee's phone is not "
        "registered in the PBX right now: check that the softphone or desk phone is online."
    )
    assert mobilon.calls_to_subscriber() == [{"key": BORIS_KEY, "outboundNumber": CLIENT}]


async def test_sms_and_balance_are_refused_in_words(
    emulator: TelegramEmulator, mobilon: MobilonSimulator, company: App
) -> None:
    await company.access.link("mob", "101", REP_ANNA, Role.MANAGER)  # /balance is theirs
    emulator.send_text(BORIS, "/sms +7 900 123-45-67 Hello")
    sms = await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("/sms"))
    emulator.send_text(REP_ANNA, "/balance")
    balance = await emulator.wait_for_message(REP_ANNA, lambda m: "/balance" in m.text)

    assert sms.text == "/sms is not available: your PBX (Mobilon) does not offer it."
    assert balance.text == "Команда /balance недоступна: ваша АТС (Mobilon) этого не позволяет."
    assert mobilon.requests == []


# /mobilonkey -------------------------------------------------------------------------
async def test_admin_sets_a_key_the_message_is_deleted_and_never_echoed(
    emulator: TelegramEmulator, mobilon: MobilonSimulator, company: App
) -> None:
    del mobilon.subscribers[BORIS_KEY]  # Boris's portal user got a new key
    mobilon.add_subscriber(Subscriber(extension="102", key="boris-new-key-77"))
    sent = emulator.send_text(ADMIN, "/mobilonkey 102 boris-new-key-77")

    answer = await emulator.wait_for_message(ADMIN, lambda m: "102" in m.text)
    assert answer.text == (
        "🔑 The Mobilon key for extension 102 is saved. Calls from this extension now go "
        "through it.\nI deleted your message with the key."
    )
    transcript = emulator.transcript(ADMIN)
    assert sent["message"]["message_id"] not in [m.message_id for m in transcript]
    assert not any("boris-new-key-77" in m.text for m in transcript)
    key = await provider_of(company).employee_keys.key_of("mob", "102")
    assert key is not None and key.get_secret_value() == "boris-new-key-77"

    # the PBX now names Boris by the new key
    await mobilon.ring(CLIENT, ["102"])
    card = await emulator.wait_for_message(BORIS, lambda m: "Incoming call" in m.text)
    assert card.text == f"📞 Incoming call\n{CLIENT_SHOWN}"
    assert [w[1:] for w in mobilon.webhooks] == [("102", 200)]


async def test_key_command_refused_for_non_admins_and_their_message_deleted(
    emulator: TelegramEmulator, mobilon: MobilonSimulator, company: App
) -> None:
    sent = emulator.send_text(REP_ANNA, "/mobilonkey 102 stolen-key-0000")

    answer = await emulator.wait_for_message(REP_ANNA, lambda m: "Задавать ключи" in m.text)
    assert answer.text == (
        "Задавать ключи Мобилон может только администратор. "
        "Ваше сообщение я удалил: в нём мог быть ключ."
    )
    transcript = emulator.transcript(REP_ANNA)
    assert sent["message"]["message_id"] not in [m.message_id for m in transcript]
    key = await provider_of(company).employee_keys.key_of("mob", "102")
    assert key is not None and key.get_secret_value() == BORIS_KEY


async def test_key_command_usage_lists_extensions_not_keys(
    emulator: TelegramEmulator, mobilon: MobilonSimulator, company: App
) -> None:
    emulator.send_text(ADMIN, "/mobilonkey")
    usage = await emulator.wait_for_message(ADMIN, lambda m: "keys are set" in m.text)
    assert usage.text.endswith("keys are set for 101, 102.")
    assert ANNA_KEY not in usage.text and BORIS_KEY not in usage.text

    emulator.send_text(ADMIN, "/mobilonkey 101 short")
    bad = await emulator.wait_for_message(ADMIN, lambda m: "does not look like" in m.text)
    assert "short" not in bad.text
    emulator.send_text(ADMIN, "/mobilonkey 101 -")
    removed = await emulator.wait_for_message(ADMIN, lambda m: "removed" in m.text)
    assert removed.text == "The Mobilon key for extension 101 is removed."
    assert await provider_of(company).employee_keys.key_of("mob", "101") is None
    assert not any(
        word in m.text for m in emulator.transcript(ADMIN) for word in ("short", ANNA_KEY)
    )


async def test_admins_find_mobilonkey_in_help_and_menu(
    emulator: TelegramEmulator, company: App
) -> None:
    emulator.send_text(ADMIN, "/help")
    reply = await emulator.wait_for_message(ADMIN, lambda m: m.text.startswith("What I can do"))
    assert "/mobilonkey — set an employee's Mobilon API key" in reply.text
    admin_menu = [c["command"] for c in emulator.commands[(f"chat:{ADMIN}", "en")]]
    assert admin_menu[-1] == "mobilonkey"
    emulator.send_text(BORIS, "/help")
    rep_help = await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("What I can"))
    assert "/mobilonkey" not in rep_help.text
