"""Spam: managers mute a number from a card or an alert, block it on MANGO's black list,
list and unblock it with /blocked; spam calls stay in the log and out of missed figures."""

from __future__ import annotations

import pytest_asyncio

from bot.app import App
from bot.domain import SubscriptionKind
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.conftest import StartApp
from tests.e2e.conftest import BORIS, GROUP, LINE, MARIA, REP_ANNA, drained, staff

CLIENT = "79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, start_app: StartApp) -> App:
    app = await start_app()
    await staff(emulator, app)
    await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.MISSED)
    emulator.add_bot_to_group(GROUP, 1000)
    return app


def alerts(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    return [
        m
        for m in emulator.bot_messages(chat)
        if ("Missed call" in m.text or "Пропущенный звонок" in m.text)
        and not any((b.callback_data or "").startswith("dl:") for row in m.buttons for b in row)
    ]


async def press(
    emulator: TelegramEmulator, user: int, message: ChatMessage, text: str
) -> dict[str, object]:
    data = message.find_button(text).callback_data
    assert data is not None
    query = emulator.press_button(user, message.chat_id, message.message_id, data)
    return await emulator.wait_for_callback_answer(query)


async def missed_call(app: App, mango: MangoSimulator) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(app)


async def test_a_manager_mutes_blocks_lists_and_unblocks_a_number(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await missed_call(company, mango)
    [anna_alert] = alerts(emulator, REP_ANNA)
    assert "🚫 Спам" not in anna_alert.button_texts()  # a rep's alert has none
    [maria_alert] = alerts(emulator, MARIA)
    assert "🚫 Spam" in maria_alert.button_texts()

    answer = await press(emulator, MARIA, maria_alert, "Spam")
    assert answer.get("text") == "🚫 Marked as spam"
    offer = await emulator.wait_for_message(MARIA, lambda m: m.text.startswith("🚫 +7"))
    assert offer.text == (
        f"🚫 {CLIENT_SHOWN} is marked as spam: its calls no longer raise alerts (they stay "
        "in the call log).\nBlock it on MANGO OFFICE as well, so that its calls do not get "
        "through at all?"
    )
    await drained(company)
    [maria_alert] = alerts(emulator, MARIA)
    assert "No call back needed (spam): Maria" in maria_alert.text
    assert maria_alert.buttons == []

    await press(emulator, MARIA, offer, "Block on MANGO OFFICE")
    await drained(company)
    [blocked] = [e for e in mango.bwlists.numbers["black"]]
    assert (blocked.number, blocked.number_type, blocked.comment) == (
        CLIENT,
        "tel",
        "pbxgram: Maria",
    )
    [edited] = [m for m in emulator.bot_messages(MARIA) if m.message_id == offer.message_id]
    assert edited.text == f"⛔ {CLIENT_SHOWN} is marked as spam, and MANGO OFFICE blocks its calls."

    # Its next call raises no alert anywhere; the card says why; the report leaves it out.
    before = {chat: len(alerts(emulator, chat)) for chat in (REP_ANNA, BORIS, MARIA, GROUP)}
    await missed_call(company, mango)
    assert {chat: len(alerts(emulator, chat)) for chat in before} == before
    assert "🚫 Номер отмечен как спам" in emulator.bot_messages(REP_ANNA)[-1].text
    emulator.send_text(MARIA, "/report")
    report = await emulator.wait_for_message(MARIA, lambda m: "📊" in m.text, timeout=20)
    assert "⬇️ Inbound: 2 · answered 0 · missed 1 · spam 1" in report.text

    emulator.send_text(MARIA, f"/history {CLIENT}")
    history = await emulator.wait_for_message(MARIA, lambda m: m.text.startswith("📒"), timeout=20)
    assert history.text.count("❌ missed · 🚫 spam") == 1  # in the log, marked

    emulator.send_text(MARIA, "/blocked")
    listing = await emulator.wait_for_message(MARIA, lambda m: "Numbers marked as spam" in m.text)
    assert f"1. {CLIENT_SHOWN} · Maria, " in listing.text
    await press(emulator, MARIA, listing, "Unblock")
    await drained(company)
    assert mango.bwlists.numbers["black"] == []
    [listing] = [m for m in emulator.bot_messages(MARIA) if m.message_id == listing.message_id]
    assert listing.text.startswith(
        f"↩️ {CLIENT_SHOWN} is no longer marked as spam, and MANGO OFFICE no longer blocks it."
    )
    assert "None: every number's calls raise alerts." in listing.text

    await missed_call(company, mango)
    assert len(alerts(emulator, MARIA)) == before[MARIA] + 1  # alerted again


async def test_a_rep_cannot_mark_spam_from_the_group(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await missed_call(company, mango)
    [group_alert] = alerts(emulator, GROUP)
    answer = await press(emulator, REP_ANNA, group_alert, "Спам")
    assert answer.get("text") == (
        "Отмечать номера как спам могут только менеджеры и администраторы."
    )
    assert not await company.notifier.missed.is_spam("main", f"+{CLIENT}")


async def test_a_white_list_in_force_is_said_in_words(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    mango.bwlists.active = "white"
    await missed_call(company, mango)
    [maria_alert] = alerts(emulator, MARIA)
    await press(emulator, MARIA, maria_alert, "Spam")
    offer = await emulator.wait_for_message(MARIA, lambda m: m.text.startswith("🚫 +7"))
    answer = await press(emulator, MARIA, offer, "Block on MANGO OFFICE")
    assert answer.get("text") == (
        "The PBX turns calls away by its white list, so a black list has no effect: block "
        "the number in the PBX's web account."
    )
    assert mango.bwlists.numbers["black"] == []
