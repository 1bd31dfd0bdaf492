"""Calls whose webhooks never arrived, recovered from the PBX's call log (MANGO stats)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest_asyncio
from redis.asyncio import Redis

from bot.app import App
from bot.domain import Role, SubscriptionKind
from bot.pipeline.reconcile import ReconcileTiming
from bot.storage import Keys
from sandbox.mango import HistoryRow, MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.conftest import FAST, StartApp
from tests.e2e.conftest import BORIS, GROUP, LINE, MARIA, REP_ANNA, drained, reconciled
from tests.helpers import until

SEEN = "79001234567"
LOST = "79005550101"
LOST_SHOWN = "+7 900 555-01-01"
HALF_SEEN = "79005550202"
HALF_SEEN_SHOWN = "+7 900 555-02-02"
TALKED = "79005550303"
RECOVERED = ("Recovered from the PBX's call log", "Восстановлен по журналу звонков АТС")
MISSED = ("Missed call", "Пропущенный звонок")
RECONCILING = replace(FAST, reconcile=ReconcileTiming(settle=0, period=3600))


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp) -> App:
    """Anna (101), Boris (102), Maria (manager, 103) linked; the group follows missed calls."""
    mango.stats_ready_after = 0
    emulator.add_user(BORIS, "Boris", username="boris", language_code="en")
    emulator.add_user(MARIA, "Maria", username="maria", language_code="en")
    app: App = await start_app(RECONCILING)
    for person in (REP_ANNA, BORIS, MARIA):
        emulator.send_text(person, "/start")
        await emulator.wait_for_message(person)
    await app.access.link("main", "101", REP_ANNA, Role.REP)
    await app.access.link("main", "102", BORIS, Role.REP)
    await app.access.link("main", "103", MARIA, Role.MANAGER)
    await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.MISSED)
    emulator.add_bot_to_group(GROUP, 1000)
    return app


def _alerts(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    """Missed-call alerts (their buttons are "ms:" ones, not a card's call-back)."""
    return [
        m
        for m in emulator.bot_messages(chat)
        if any(word in m.text for word in MISSED)
        and not any((b.callback_data or "").startswith("dl:") for row in m.buttons for b in row)
    ]


def _recovered(message: ChatMessage) -> bool:
    return any(line in message.text for line in RECOVERED)


async def test_missed_calls_the_webhooks_never_told_are_alerted_once(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await mango.play_inbound(LINE, SEEN, ring=["101"], answered_by=None)
    mango.drop_webhooks = {"events/"}  # pbxgram hears nothing of these two
    lost = await mango.play_inbound(LINE, LOST, ring=["102"], answered_by=None)
    talked = await mango.play_inbound(LINE, TALKED, ring=["102"], answered_by="102")
    mango.drop_webhooks = {"events/summary"}  # rang, but never heard the end
    half = await mango.play_inbound(LINE, HALF_SEEN, ring=["101"], answered_by=None)
    mango.drop_webhooks = set()
    await mango.wait_idle()
    await drained(company)
    [seen_alert] = _alerts(emulator, GROUP)
    assert not _recovered(seen_alert)

    assert await reconciled(company) == 3  # both lost calls and the one never closed

    group = _alerts(emulator, GROUP)
    assert len(group) == 3, [m.text for m in group]
    assert group[0].text == seen_alert.text  # alerted by webhook: not again
    assert [_recovered(m) for m in group] == [False, True, True]
    by_number = {LOST_SHOWN: group[1], HALF_SEEN_SHOWN: group[2]}
    if LOST_SHOWN not in group[1].text:
        by_number = {LOST_SHOWN: group[2], HALF_SEEN_SHOWN: group[1]}
    assert LOST_SHOWN in by_number[LOST_SHOWN].text
    assert HALF_SEEN_SHOWN in by_number[HALF_SEEN_SHOWN].text
    # The ordinary alert: the rep it rang and the manager get it too, with its buttons.
    [boris] = _alerts(emulator, BORIS)
    assert LOST_SHOWN in boris.text
    assert "Recovered from the PBX's call log" in boris.text
    assert [(b.callback_data or "")[:3] for row in boris.buttons for b in row] == ["ms:"] * 3
    assert len(_alerts(emulator, MARIA)) == 3
    anna = _alerts(emulator, REP_ANNA)
    assert len(anna) == 2 and "Восстановлен по журналу звонков АТС" in anna[1].text
    # The answered call is not alerted; it is in the call log.
    for chat in (GROUP, BORIS, MARIA, REP_ANNA):
        assert not any("555-03-03" in m.text for m in _alerts(emulator, chat))
    logged = await company.call_log.get("main", talked.entry_id)
    assert logged is not None and logged.answered and logged.extension == "102"
    assert logged.talk_seconds == 30
    missed = await company.call_log.get("main", lost.entry_id)
    assert missed is not None and not missed.answered
    assert (await company.call_log.get("main", half.entry_id)) is not None

    # A second run finds nothing new.
    before = {chat: len(emulator.bot_messages(chat)) for chat in (GROUP, BORIS, MARIA, REP_ANNA)}
    assert await reconciled(company) == 0
    after = {chat: len(emulator.bot_messages(chat)) for chat in (GROUP, BORIS, MARIA, REP_ANNA)}
    assert after == before


async def test_late_webhooks_of_a_recovered_call_do_not_alert_it_again(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    mango.drop_webhooks = {"events/"}
    lost = await mango.play_inbound(LINE, LOST, ring=["102"], answered_by=None)
    mango.drop_webhooks = set()
    await mango.wait_idle()
    assert await reconciled(company) == 1
    [alert] = _alerts(emulator, GROUP)
    assert _recovered(alert)

    # The PBX retries its webhooks once pbxgram is back: the same call, the same alert.
    for path, payload in lost.posted:
        await mango.post(path, payload)
    await drained(company)
    assert len(_alerts(emulator, GROUP)) == 1
    assert len(_alerts(emulator, BORIS)) == 1


async def test_start_up_reads_back_from_the_last_event_seen_at_most_a_day(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp, redis: Redis
) -> None:
    now = int(time.time())
    await redis.set(Keys().last_event("main"), now - 5 * 3600)  # down for five hours
    for entry_id, ago in (("while-down", 4 * 3600), ("long-ago", 30 * 3600)):
        mango.history.append(
            HistoryRow(
                entry_id=entry_id,
                start=now - ago,
                finish=now - ago + 40,
                from_number=LOST,
                to_extension="102",
                line_number=LINE,
            )
        )
    mango.stats_ready_after = 0
    emulator.add_user(BORIS, "Boris", username="boris", language_code="en")
    app: App = await start_app(RECONCILING)
    await until(lambda: bool(mango.commands("stats/request")))
    [request] = mango.commands("stats/request")
    # Two hours before the last event (calls long under way then), not more than a day.
    assert int(request["date_from"]) == now - 7 * 3600
    await drained(app)
    assert await app.call_log.get("main", "while-down") is not None
    assert await app.call_log.get("main", "long-ago") is None

    # The worker notes each account's last event as it saves the call (no extra trip).
    await mango.play_inbound(LINE, SEEN, ring=["101"], answered_by="101")
    await mango.wait_idle()
    await drained(app)
    assert int(await redis.get(Keys().last_event("main")) or 0) >= now


async def test_a_call_left_to_its_webhooks_brings_the_next_round_forward(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp
) -> None:
    mango.stats_ready_after = 0
    settling = replace(FAST, reconcile=ReconcileTiming(settle=30, period=3600))
    app = await start_app(settling)
    [job] = [job for job in app.jobs if job.name == "reconcile"]
    mango.drop_webhooks = {"events/"}
    await mango.play_inbound(LINE, LOST, ring=["102"], answered_by=None)
    await mango.wait_idle()

    assert await job.tick() == 0  # it just ended: its webhooks may still come
    # looked at again once it has settled (the log's times are the simulated call's), not
    # in an hour
    assert 1 <= job.delay() < 120
    mango.drop_webhooks = set()
