"""Missed calls get called back: at ``callback_within`` a reminder, at ``escalate_after``
the managers; an answered call with the client or "No call back needed" stops it. The
deadlines come from a clock the test turns, never from sleeping."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from bot.app import App, Tuning
from bot.domain import Role, SubscriptionKind
from bot.services.missed_calls import NoCallBack
from bot.services.missed_claims import no_call_back
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.conftest import StartApp
from tests.e2e.conftest import BORIS, FAST, GROUP, LINE, MARIA, REP_ANNA, drained, staff
from tests.helpers import ManualClock

CLIENT = "79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"
MINUTE = 60.0
LADDER = {"callback_within": "15m", "escalate_after": "30m"}
ZONE = ZoneInfo("Europe/Moscow")  # TIMEZONE's default


def on_the_clock(clock: ManualClock) -> Tuning:
    """Deadlines read from ``clock``, and the ladder looking often."""
    return replace(FAST, clock=clock, ladder_period=0.05)


def opening_soon(clock: ManualClock) -> tuple[datetime, dict[str, str]]:
    """Working hours that open ten minutes after the clock's start (it is closed now):
    when they open, and the account's setting."""
    local = datetime.fromtimestamp(clock.started, ZONE)
    opens = (local + timedelta(minutes=10)).replace(second=0, microsecond=0)
    closes = opens + timedelta(hours=5)
    return opens, {"working_hours": f"{opens:%H:%M}-{closes:%H:%M}"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, start_app: StartApp, clock: ManualClock) -> App:
    """Anna (101) and Boris (102) in the ring group, Maria their manager (103); the group
    chat follows missed calls; a missed call must be called back within 15 minutes."""
    app = await staff(emulator, await start_app(on_the_clock(clock), account=LADDER))
    await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.MISSED)
    emulator.add_bot_to_group(GROUP, REP_ANNA)
    await emulator.wait_for_message(GROUP)
    return app


async def at_minute(app: App, clock: ManualClock, minutes: float) -> None:
    """Turn the clock to ``minutes`` after the start, and let the ladder see it."""
    clock.now = clock.started + minutes * MINUTE
    await asyncio.sleep(0.2)  # a few of the ladder's rounds
    await drained(app)


def reminders(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    return [m for m in emulator.bot_messages(chat) if m.text.startswith("⏰")]


def escalations(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    return [m for m in emulator.bot_messages(chat) if m.text.startswith("🚨")]


def alert_in(emulator: TelegramEmulator, chat: int) -> ChatMessage:
    """The chat's missed-call alert (a card of the call names no one it rang)."""
    [alert] = [
        m
        for m in emulator.bot_messages(chat)
        if m.text.startswith("❌") and ("It rang" in m.text or "Звонок шёл на" in m.text)
    ]
    return alert


async def missed_call(app: App, mango: MangoSimulator) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(app)


async def boris_takes_a_missed_call(
    emulator: TelegramEmulator, mango: MangoSimulator, app: App
) -> ChatMessage:
    """A missed call Boris takes with "I'll take it"; his alert."""
    await missed_call(app, mango)
    alert = alert_in(emulator, BORIS)
    take = alert.find_button("take")
    assert take.callback_data is not None
    emulator.press_button(BORIS, BORIS, alert.message_id, take.callback_data)
    await drained(app)
    return alert


async def test_the_reminder_goes_to_whom_it_rang_and_the_group_when_due(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App, clock: ManualClock
) -> None:
    await missed_call(company, mango)
    await at_minute(company, clock, 14)
    assert all(reminders(emulator, chat) == [] for chat in (REP_ANNA, BORIS, MARIA, GROUP))

    await at_minute(company, clock, 16)
    [anna] = reminders(emulator, REP_ANNA)
    assert anna.text.startswith(f"⏰ Ещё не перезвонили: {CLIENT_SHOWN}, пропущен в ")
    assert "ждёт уже 15 мин. Перезвоните или нажмите «Беру»." in anna.text
    assert anna.reply_to == alert_in(emulator, REP_ANNA).message_id
    [boris] = reminders(emulator, BORIS)
    assert boris.text.startswith(f"⏰ Not called back yet: {CLIENT_SHOWN}, missed at ")
    assert boris.reply_to == alert_in(emulator, BORIS).message_id
    [group] = reminders(emulator, GROUP)
    assert "Anna Petrova, Boris Ivanov, перезвоните или нажмите «Беру»." in group.text
    assert f"tg://user?id={REP_ANNA}" in (group.html or "")
    assert reminders(emulator, MARIA) == []  # the manager hears at escalation
    await at_minute(company, clock, 20)
    assert len(reminders(emulator, REP_ANNA)) == 1  # once

    emulator.send_text(MARIA, "/missed")
    listed = await emulator.wait_for_message(MARIA, lambda m: "oldest first" in m.text)
    # the PBX stamps the call in whole seconds, around the clock's start
    assert re.search(r"· waiting (19|20) min · ⚠️ overdue · it rang: ", listed.text)


async def test_whoever_took_it_is_reminded_alone_and_managers_hear_at_escalation(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App, clock: ManualClock
) -> None:
    await boris_takes_a_missed_call(emulator, mango, company)

    await at_minute(company, clock, 16)
    [boris] = reminders(emulator, BORIS)
    assert boris.text.endswith("has waited 15 min. You took this call: please call back.")
    assert reminders(emulator, REP_ANNA) == [] and reminders(emulator, GROUP) == []
    assert escalations(emulator, MARIA) == []

    await at_minute(company, clock, 31)
    [maria] = escalations(emulator, MARIA)
    assert maria.text.startswith(f"🚨 Missed call still not called back: {CLIENT_SHOWN}")
    assert "has waited 30 min." in maria.text
    assert "It rang: Anna Petrova, Boris Ivanov" in maria.text
    assert maria.text.endswith("Taken by Boris, who has not called back yet.")
    assert escalations(emulator, BORIS) == [] and escalations(emulator, REP_ANNA) == []


async def test_a_call_back_stops_the_ladder(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App, clock: ManualClock
) -> None:
    await missed_call(company, mango)
    await at_minute(company, clock, 5)
    await mango.play_callback("101", CLIENT)
    await mango.wait_idle()
    await drained(company)
    await at_minute(company, clock, 40)
    for chat in (REP_ANNA, BORIS, MARIA, GROUP):
        assert reminders(emulator, chat) == [] and escalations(emulator, chat) == []
    assert "✅" in alert_in(emulator, GROUP).text or "Перезвонил" in alert_in(emulator, GROUP).text


async def test_the_client_calling_again_and_answered_stops_the_ladder(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App, clock: ManualClock
) -> None:
    await missed_call(company, mango)
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="102")
    await mango.wait_idle()
    await drained(company)
    await at_minute(company, clock, 40)
    for chat in (REP_ANNA, BORIS, MARIA, GROUP):
        assert reminders(emulator, chat) == [] and escalations(emulator, chat) == []
    assert "Клиент перезвонил, ответил(а) Boris Ivanov" in alert_in(emulator, GROUP).text


async def test_no_call_back_needed_asks_why_and_stops_the_ladder(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App, clock: ManualClock
) -> None:
    await missed_call(company, mango)
    alert = alert_in(emulator, REP_ANNA)
    button = alert.find_button("Перезванивать не нужно")
    assert button.callback_data is not None
    emulator.press_button(REP_ANNA, REP_ANNA, alert.message_id, button.callback_data)
    question = await emulator.wait_for_message(REP_ANNA, lambda m: "Почему" in m.text)
    assert question.button_texts() == ["Спам", "Ошиблись номером", "Решено иначе"]
    spam = question.find_button("Спам").callback_data
    assert spam is not None
    emulator.press_button(REP_ANNA, REP_ANNA, question.message_id, spam)
    await drained(company)
    await asyncio.sleep(0.1)
    [answered] = [m for m in emulator.bot_messages(REP_ANNA) if m.message_id == question.message_id]
    assert answered.text == "Отмечено: перезванивать не нужно (Спам)."

    for chat in (REP_ANNA, GROUP):
        closed = alert_in(emulator, chat) if chat != REP_ANNA else alert
        [shown] = [m for m in emulator.bot_messages(chat) if m.message_id == closed.message_id]
        assert "🚫 Перезванивать не нужно (спам): Anna в " in shown.text
        assert shown.buttons == []
    await at_minute(company, clock, 40)
    for chat in (REP_ANNA, BORIS, MARIA, GROUP):
        assert reminders(emulator, chat) == [] and escalations(emulator, chat) == []


async def test_a_repeat_call_updates_the_open_alert_and_reminds_the_taker_at_once(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App, clock: ManualClock
) -> None:
    alert = await boris_takes_a_missed_call(emulator, mango, company)

    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(company)
    for chat in (REP_ANNA, BORIS, MARIA, GROUP):  # still one alert each, now saying so
        current = alert_in(emulator, chat)
        assert ("Called 2 times, last at" in current.text) or ("Звонил(а) 2 раза" in current.text)
    [again] = [m for m in emulator.bot_messages(BORIS) if m.text.startswith("🔁")]
    assert again.text.startswith(f"🔁 {CLIENT_SHOWN} called again (2 times now, last at ")
    assert again.reply_to == alert.message_id


async def test_calls_missed_while_closed_are_summed_up_at_opening(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    start_app: StartApp,
    clock: ManualClock,
) -> None:
    opens, hours = opening_soon(clock)
    app = await start_app(on_the_clock(clock), account={**hours, "callback_within": "15m"})
    await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.MISSED)
    emulator.add_bot_to_group(GROUP, REP_ANNA)
    await emulator.wait_for_message(GROUP)
    for client in (CLIENT, "79005550000", "79007770000"):
        await mango.play_inbound(LINE, client, group_id=1, ring=["101", "102"])
    await mango.play_callback("102", "79007770000")  # one of them is called back at night
    await mango.wait_idle()
    await drained(app)
    night = [m for m in emulator.bot_messages(GROUP) if m.text.startswith("🌙")]
    assert night == []  # not before opening

    clock.now = opens.timestamp() + 30
    await asyncio.sleep(0.2)
    await drained(app)
    [summary] = [m for m in emulator.bot_messages(GROUP) if m.text.startswith("🌙")]
    lines = summary.text.split("\n")
    assert lines[0] == "🌙 Пропущено в нерабочее время: 3, ждут перезвона: 2."
    assert sorted(line.split(" · ", 1)[1] for line in lines[1:]) == [  # the same second
        f"{CLIENT_SHOWN} · ⏳ ждёт",
        "+7 900 555-00-00 · ⏳ ждёт",
        "+7 900 777-00-00 · ✅ Boris Ivanov",
    ]
    assert len(summary.buttons) == 2  # a row per open call: call back, take
    called = sorted(row[0].text.split(" ", 3)[3] for row in summary.buttons)
    assert called == [CLIENT_SHOWN, "+7 900 555-00-00"]
    # no reminder at night: the 15 minutes count from opening
    assert reminders(emulator, GROUP) == []
    clock.now = opens.timestamp() + 16 * MINUTE
    await asyncio.sleep(0.2)
    await drained(app)
    assert len(reminders(emulator, GROUP)) == 2
    assert len([m for m in emulator.bot_messages(GROUP) if m.text.startswith("🌙")]) == 1


async def test_the_caller_is_texted_within_working_hours_once_a_day_never_spam(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    start_app: StartApp,
    clock: ManualClock,
) -> None:
    opens, hours = opening_soon(clock)
    app = await start_app(on_the_clock(clock), account={**hours, "missed_sms": True})
    await app.access.link("main", "101", REP_ANNA, Role.REP)
    spammer = "79005550000"
    for client in (CLIENT, spammer):
        await mango.play_inbound(LINE, client, ring=["101"])
    await mango.wait_idle()
    await drained(app)
    [spam] = await app.notifier.missed.open_for("main", "+" + spammer)
    await no_call_back(
        app.notifier.missed, app.notifier, spam.ref, "Anna", "101", NoCallBack.SPAM, spam.at
    )
    await asyncio.sleep(0.2)
    assert mango.commands("commands/sms") == []  # closed at night: nothing yet

    clock.now = opens.timestamp() + 30
    await asyncio.sleep(0.3)
    await drained(app)
    [sms] = mango.commands("commands/sms")
    assert {key: sms[key] for key in ("text", "from_extension", "to_number")} == {
        "text": "Здравствуйте! Мы видели ваш звонок и скоро перезвоним.",
        "from_extension": "101",  # the first extension the call rang
        "to_number": CLIENT,
    }
    # The client calls again and is missed again, the same day; the spammer too.
    await mango.play_callback("101", CLIENT)  # closes the first missed call
    for client in (CLIENT, spammer):
        await mango.play_inbound(LINE, client, ring=["101"])
    await mango.wait_idle()
    clock.now += 60
    await asyncio.sleep(0.3)
    await drained(app)
    assert len(mango.commands("commands/sms")) == 1  # once a day, and never to spam
