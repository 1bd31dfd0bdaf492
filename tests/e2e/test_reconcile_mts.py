"""MTS calls whose events never arrived, recovered from callHistory (one row per leg) and
listed by /history: a voice menu and a queue are no person answering (section 4.5.1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.pipeline.reconcile import ReconcileTiming
from sandbox.mts import MtsSimulator
from sandbox.telegram import TelegramEmulator
from tests.e2e.conftest import GROUP, REP_ANNA, reconciled
from tests.e2e.test_mts import (
    BORIS,
    IDS,
    MARIA,
    TUNING,
    _company,
    missed_alerts,
    pbx,
    settled,
    start,
)
from tests.helpers import until

__all__ = ["pbx", "start"]  # the MTS fixtures

RECONCILING = replace(TUNING, reconcile=ReconcileTiming(settle=0, period=3600))
SEEN, LOST, TALKED = "+79001234567", "+79005550101", "+79005550303"
LOST_SHOWN = "+7 900 555-01-01"
LEFT, TAKEN = "+79005550404", "+79005550505"  # through the voice menu and the queue
LEFT_SHOWN, TAKEN_SHOWN = "+7 900 555-04-04", "+7 900 555-05-05"


async def test_mts_missed_calls_only_in_the_call_history_are_alerted_once(
    emulator: TelegramEmulator, pbx: MtsSimulator, start: Callable[..., Any]
) -> None:
    company = await _company(emulator, start, tuning=RECONCILING)
    await until(lambda: all(pbx.live_subscriptions(i) for i in IDS.values()))
    await pbx.ring_group(SEEN, ["101", "102"])
    pbx.drop_webhooks = True
    await pbx.ring_group(LOST, ["101", "102"])
    talked = await pbx.ring_group(TALKED, ["101", "102"], answered_by="102")
    pbx.drop_webhooks = False
    await settled(company, pbx)
    [seen] = missed_alerts(emulator, GROUP)
    assert "Восстановлен" not in seen.text

    assert await reconciled(company) == 2  # the lost missed call and the lost answered one

    group = missed_alerts(emulator, GROUP)
    assert len(group) == 2, [m.text for m in group]
    assert group[0].text == seen.text
    assert LOST_SHOWN in group[1].text
    assert "Восстановлен по журналу звонков АТС" in group[1].text
    assert "Звонок шёл на: Anna Petrova, Boris Ivanov" in group[1].text  # from both leg rows
    [boris_seen, boris_lost] = missed_alerts(emulator, BORIS)
    assert "Recovered" not in boris_seen.text
    assert "Recovered from the PBX's call log" in boris_lost.text
    assert len(missed_alerts(emulator, MARIA)) == 2
    assert len(missed_alerts(emulator, REP_ANNA)) == 2
    for chat in (GROUP, BORIS, MARIA, REP_ANNA):
        assert not any("555-03-03" in m.text for m in missed_alerts(emulator, chat))
    logged = await company.call_log.get("mts", talked)
    assert logged is not None and logged.answered and logged.extension == "102"

    before = {chat: len(emulator.bot_messages(chat)) for chat in (GROUP, BORIS, MARIA, REP_ANNA)}
    assert await reconciled(company) == 0
    after = {chat: len(emulator.bot_messages(chat)) for chat in (GROUP, BORIS, MARIA, REP_ANNA)}
    assert after == before


async def test_mts_a_call_left_in_the_queue_is_recovered_missed_not_answered(
    emulator: TelegramEmulator, pbx: MtsSimulator, start: Callable[..., Any]
) -> None:
    """Section 4.5.1 (lines 365-483): the voice menu's and the queue's rows are PLACED with
    answerDuration 0 (lines 384-385, 413-414). A client who hung up in the queue was
    missed; one an agent took (PLACED, answerDuration 8, line 471) was answered by that
    agent, though the agent's row names the queue ("718", line 466) as the caller."""
    company = await _company(emulator, start, tuning=RECONCILING)
    await until(lambda: all(pbx.live_subscriptions(i) for i in IDS.values()))
    pbx.drop_webhooks = True
    await pbx.menu_queue_call(LEFT, ["101", "102"])
    taken = await pbx.menu_queue_call(TAKEN, ["101", "102"], answered_by="102")
    pbx.drop_webhooks = False
    await settled(company, pbx)

    assert await reconciled(company) == 2

    [alert] = missed_alerts(emulator, GROUP)
    assert LEFT_SHOWN in alert.text
    assert "Восстановлен по журналу звонков АТС" in alert.text
    assert "Звонок шёл на: Anna Petrova, Boris Ivanov" in alert.text
    assert len(missed_alerts(emulator, MARIA)) == 1
    logged = await company.call_log.get("mts", taken)
    assert logged is not None
    assert logged.answered and logged.extension == "102"
    assert logged.client_number == TAKEN


async def test_mts_history_lists_a_call_left_in_the_queue_as_missed(
    emulator: TelegramEmulator, pbx: MtsSimulator, start: Callable[..., Any]
) -> None:
    """/history reads the call history for calls the bot never saw (section 4.5): the
    menu's row (PLACED, answerDuration 0, duration the whole call: lines 382-385, 397)
    does not make a call answered; the agent who picked up does (lines 470-471)."""
    company = await _company(emulator, start)
    await until(lambda: all(pbx.live_subscriptions(i) for i in IDS.values()))
    pbx.drop_webhooks = True
    await pbx.menu_queue_call(LEFT, ["101", "102"], talk=1.1)
    await pbx.menu_queue_call(LEFT, ["101", "102"], answered_by="102", talk=1.1)
    pbx.drop_webhooks = False
    await settled(company, pbx)

    emulator.send_text(MARIA, f"/history {LEFT}")
    answer = await emulator.wait_for_message(
        MARIA, lambda m: m.text.startswith("📒") and m.edited, timeout=20
    )
    header, *lines = answer.text.split("\n")
    assert header == f"📒 Calls with {LEFT_SHOWN}"
    assert len(lines) == 2, lines
    assert lines[0].endswith(f"⬇️ inbound · {LEFT_SHOWN} · Boris Ivanov · ✅ answered, 0:01")
    assert lines[1].endswith(f"⬇️ inbound · {LEFT_SHOWN} · — · ❌ missed")
