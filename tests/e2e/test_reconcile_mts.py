"""MTS calls whose events never arrived, recovered from callHistory (one row per leg)."""

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
