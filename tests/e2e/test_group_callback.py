"""“👥 Group calls back” on a missed-call alert (MANGO ``commands/callback_group``): the
PBX rings the group that missed the call, then the client; for managers, once per tap."""

from __future__ import annotations

import pytest_asyncio

from bot.app import App
from bot.domain import SubscriptionKind
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import GROUP, LINE, MARIA, REP_ANNA, drained

CLIENT = "79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, staffed: App) -> App:
    await staffed.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.MISSED)
    emulator.add_bot_to_group(GROUP, 1000)
    return staffed


def alert_in(emulator: TelegramEmulator, chat: int) -> ChatMessage:
    return next(
        m for m in emulator.bot_messages(chat) if "It rang:" in m.text or "Звонок шёл на:" in m.text
    )


async def missed(app: App, mango: MangoSimulator) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(app)


async def test_the_group_calls_back_once_and_every_copy_says_who_talked(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await missed(company, mango)
    assert "👥 Перезвонит группа" not in alert_in(emulator, REP_ANNA).button_texts()
    alert = alert_in(emulator, MARIA)
    data = alert.find_button("Group calls back").callback_data
    assert data is not None

    first = emulator.press_button(MARIA, MARIA, alert.message_id, data)
    second = emulator.press_button(MARIA, MARIA, alert.message_id, data)  # a double tap
    # The two taps are handled concurrently: whichever comes second places nothing.
    answers = [
        (await emulator.wait_for_callback_answer(query)).get("text") for query in (first, second)
    ]
    assert sorted(answers, key=str) == sorted([None, "Already on it."], key=str)
    report = await emulator.wait_for_message(
        MARIA, lambda m: m.text.startswith("👥 The PBX is calling Sales")
    )
    assert report.text == (
        f"👥 The PBX is calling Sales: whoever picks up is connected to {CLIENT_SHOWN}."
    )
    assert report.reply_to == alert.message_id
    await mango.wait_idle()
    await drained(company)

    [command] = mango.commands("commands/callback_group")
    assert {k: v for k, v in command.items() if k != "command_id"} == {
        "from": "500",
        "to": CLIENT,
        "line_number": LINE,
    }
    for chat in (REP_ANNA, MARIA, GROUP):
        text = alert_in(emulator, chat).text
        assert "Called back by Anna Petrova" in text or "Перезвонил(а) Anna Petrova" in text


async def test_a_rep_cannot_have_the_group_call_back(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await missed(company, mango)
    alert = alert_in(emulator, GROUP)
    data = alert.find_button("Перезвонит группа").callback_data
    assert data is not None
    query = emulator.press_button(REP_ANNA, GROUP, alert.message_id, data)
    answer = await emulator.wait_for_callback_answer(query)
    assert answer.get("text") == (
        "Поручить перезвон группе могут только менеджеры и администраторы."
    )
    assert mango.commands("commands/callback_group") == []
