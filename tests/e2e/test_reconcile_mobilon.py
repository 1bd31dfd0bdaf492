"""Mobilon calls no webhook told of, recovered from the journal (no ids, no ring targets)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.app import App, Tuning
from bot.pipeline.reconcile import ReconcileTiming
from sandbox.mobilon import MobilonSimulator
from sandbox.telegram import TelegramEmulator
from tests.e2e.conftest import GROUP, REP_ANNA, reconciled
from tests.e2e.test_mobilon import (
    BORIS,
    MOBILON_FAST,
    company,
    followed_to_the_end,
    missed_alerts,
    mobilon,
)

__all__ = ["company", "mobilon"]  # the Mobilon fixtures

SEEN, LOST, TALKED = "79001234567", "79005550101", "79005550303"
LOST_SHOWN = "+7 900 555-01-01"


@pytest.fixture
def mobilon_tuning() -> Tuning:
    return replace(MOBILON_FAST, reconcile=ReconcileTiming(settle=0, period=3600))


async def test_mobilon_calls_only_in_the_journal_are_alerted_once(
    emulator: TelegramEmulator, mobilon: MobilonSimulator, company: App
) -> None:
    seen = await mobilon.play_inbound(SEEN, ["101", "102"], answered_by=None)
    await followed_to_the_end(company)
    [seen_alert] = missed_alerts(emulator, GROUP)
    mobilon.drop_webhooks = True
    lost = await mobilon.play_inbound(LOST, ["101", "102"], answered_by=None)
    talked = await mobilon.play_inbound(TALKED, ["101", "102"], answered_by="102")
    mobilon.drop_webhooks = False

    assert await reconciled(company) == 2  # the journal's callid of the seen one is claimed

    group = missed_alerts(emulator, GROUP)
    assert len(group) == 2, [m.text for m in group]
    assert group[0].text == seen_alert.text
    assert LOST_SHOWN in group[1].text
    assert "Восстановлен по журналу звонков АТС" in group[1].text
    # The journal names nobody an unanswered call rang: the reps it rang are unknown, the
    # alert goes to those who follow every missed call.
    assert "Звонок шёл на" not in group[1].text
    assert len(missed_alerts(emulator, BORIS)) == 1
    assert len(missed_alerts(emulator, REP_ANNA)) == 1
    assert not any("555-03-03" in m.text for m in missed_alerts(emulator, GROUP))
    logged = await company.call_log.get("mob", talked.callid)
    assert logged is not None and logged.answered and logged.extension == "102"
    missed = await company.call_log.get("mob", lost.callid)
    assert missed is not None and not missed.answered
    assert await company.call_log.get("mob", seen.callid) is None  # logged under its own id

    before = {chat: len(emulator.bot_messages(chat)) for chat in (GROUP, BORIS, REP_ANNA)}
    assert await reconciled(company) == 0
    after = {chat: len(emulator.bot_messages(chat)) for chat in (GROUP, BORIS, REP_ANNA)}
    assert after == before
