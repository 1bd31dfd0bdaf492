"""Notes and outcome tags: a reply to a call's message is a note on every copy and in
/history; tag buttons on a card after the call feed /report."""

from __future__ import annotations

import pytest_asyncio

from bot.app import App
from bot.domain import SubscriptionKind
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.conftest import StartApp
from tests.e2e.conftest import BORIS, GROUP, LINE, MARIA, drained, staff

CLIENT = "79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, start_app: StartApp) -> App:
    """Anna (101), Boris (102), Maria (manager); the group follows missed calls and
    summaries; the account tags calls as "sale", "refund" and "spam"."""
    app = await start_app(account={"tags": ["sale", "refund", "spam"]})
    await staff(emulator, app)
    await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.MISSED)
    await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.SUMMARY)
    emulator.add_bot_to_group(GROUP, 1000)
    return app


def by_id(emulator: TelegramEmulator, chat: int, message_id: int) -> ChatMessage:
    [found] = [m for m in emulator.bot_messages(chat) if m.message_id == message_id]
    return found


def calls(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    return [m for m in emulator.bot_messages(chat) if "pbxgram" not in m.text]


def press(emulator: TelegramEmulator, card: ChatMessage, text: str) -> None:
    """Boris presses the button ``text`` on his ``card``."""
    data = card.find_button(text).callback_data
    assert data is not None
    emulator.press_button(BORIS, BORIS, card.message_id, data)


async def reply(
    emulator: TelegramEmulator, user: int, chat: int, to: int, text: str
) -> ChatMessage:
    """``user`` replies ``text`` to message ``to`` in ``chat``; the bot's answer."""
    before = max((m.message_id for m in emulator.transcript(chat)), default=0)
    emulator.send_text(user, text, chat_id=None if chat == user else chat, reply_to=to)
    return await emulator.wait_for_message(
        chat, lambda m: m.message_id > before and m.from_bot, timeout=10
    )


async def test_a_reply_to_an_alert_is_a_note_on_every_copy_and_in_history(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(company)
    maria_alert = calls(emulator, MARIA)[0]
    boris_card = calls(emulator, BORIS)[0]

    answer = await reply(emulator, MARIA, MARIA, maria_alert.message_id, "Wants a <b>quote</b>")
    assert answer.text == "📝 Note added to the call."
    await drained(company)

    assert "📝 Maria: Wants a <b>quote</b>" in by_id(emulator, MARIA, maria_alert.message_id).text
    assert "📝 Maria: Wants a <b>quote</b>" in by_id(emulator, BORIS, boris_card.message_id).text
    group_texts = [m.text for m in calls(emulator, GROUP)]
    assert (
        sum("📝 Maria: Wants a <b>quote</b>" in text for text in group_texts) == 2
    )  # alert, summary

    # In the group, a reply to the summary; the bot answers in its author's language.
    summary = calls(emulator, GROUP)[-1]
    emulator.send_text(BORIS, "Called from the road", chat_id=GROUP, reply_to=summary.message_id)
    await emulator.wait_for_message(GROUP, lambda m: m.text == "📝 Note added to the call.")
    await drained(company)
    summary = by_id(emulator, GROUP, summary.message_id)
    assert summary.text.splitlines()[-2:] == [
        "📝 Maria: Wants a <b>quote</b>",
        "📝 Boris: Called from the road",
    ]

    emulator.send_text(MARIA, f"/history {CLIENT}")
    history = await emulator.wait_for_message(MARIA, lambda m: m.text.startswith("📒"), timeout=20)
    assert "   📝 Maria: Wants a <b>quote</b>\n   📝 Boris: Called from the road" in history.text


async def test_a_reply_to_something_else_is_not_a_note(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    greeting = emulator.bot_messages(MARIA)[-1]
    answer = await reply(emulator, MARIA, MARIA, greeting.message_id, "hello")
    assert "Note" not in answer.text


async def test_tags_on_the_card_after_the_call_feed_the_report(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="102")
    await mango.play_inbound(LINE, "79007654321", ring=["102"], answered_by="102", record=False)
    await mango.wait_idle()
    await drained(company)
    first, second = [m for m in calls(emulator, BORIS) if m.text.startswith("✅ Call ended")]
    assert [b.text for b in first.buttons[1]] == ["sale", "refund", "spam"]

    press(emulator, first, "sale")
    press(emulator, second, "sale")
    press(emulator, second, "refund")
    await drained(company)
    second = by_id(emulator, BORIS, second.message_id)
    assert [b.text for b in second.buttons[1]] == ["✓ sale", "✓ refund", "spam"]
    assert "🏷 sale, refund" in second.text
    # A second press takes a tag off.
    press(emulator, second, "refund")
    await drained(company)
    assert "🏷 sale\n" in by_id(emulator, BORIS, second.message_id).text + "\n"
    summary = next(m for m in calls(emulator, GROUP) if "Boris" in m.text)
    assert "🏷 продажа" in summary.text  # a default tag, in the group's language

    emulator.send_text(MARIA, "/report")
    report = await emulator.wait_for_message(MARIA, lambda m: "📊" in m.text, timeout=20)
    assert "🏷 Tags: sale 2" in report.text
