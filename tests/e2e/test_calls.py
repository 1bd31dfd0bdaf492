"""Calls as people see them: cards, ring groups, missed alerts, summaries, recordings."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
import pytest_asyncio

from bot.app import App
from bot.domain import Language, SubscriptionKind
from bot.services.missed_calls import NoCallBack
from bot.services.missed_claims import no_call_back
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import BORIS, GROUP, LINE, MARIA, REP_ANNA, drained

CLIENT = "79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"
CLOCK = re.compile(r"\b\d{2}:\d{2}\b")


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, staffed: App) -> App:
    """The staffed app, with the sales group following missed calls and summaries."""
    await staffed.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.MISSED)
    await staffed.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.SUMMARY)
    emulator.add_bot_to_group(GROUP, 1000)
    return staffed


def _calls(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    """The bot's messages about calls (after its answer to /start)."""
    return [m for m in emulator.bot_messages(chat) if "pbxgram" not in m.text]


def _texts(emulator: TelegramEmulator, chat: int) -> list[str]:
    return [m.text for m in _calls(emulator, chat)]


def _unclocked(emulator: TelegramEmulator, chat: int) -> list[str]:
    """The texts with times of day masked (the second round may start in another minute)
    and context lines left out (the second round has the first behind it)."""
    return [
        CLOCK.sub("HH:MM", "\n".join(line for line in text.split("\n") if "🕘" not in line))
        for text in _texts(emulator, chat)
    ]


def _is_card(message: ChatMessage) -> bool:
    """A call card of a missed call: its call-back button dials."""
    return any((b.callback_data or "").startswith("dl:") for row in message.buttons for b in row)


def _missed(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Missed-call alerts; cards of missed calls (with their own call-back button) left out."""
    return [
        m
        for m in messages
        if ("Missed call" in m.text or "Пропущенный звонок" in m.text) and not _is_card(m)
    ]


async def test_ring_group_answered_by_one(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="102")
    await mango.wait_idle()
    await drained(company)

    [anna_card] = _calls(emulator, REP_ANNA)
    assert "Ответил(а) Boris Ivanov" in anna_card.text
    assert "Линия: +7 495 000-00-00" in anna_card.text
    assert "Группа: Sales" in anna_card.text
    assert CLIENT_SHOWN in anna_card.text
    assert anna_card.edited
    [boris_card, recording] = _calls(emulator, BORIS)
    assert recording.file is not None
    assert "Call ended" in boris_card.text
    assert "Talk time: 0:30" in boris_card.text
    for chat in (REP_ANNA, BORIS, MARIA, GROUP):
        assert _missed(emulator.bot_messages(chat)) == [], chat
    summary = emulator.bot_messages(GROUP)[-1].text
    assert "Inbound call" in summary or "Входящий звонок" in summary


async def test_cards_that_show_the_same_are_drawn_once(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    drawn: list[tuple[str, str]] = []
    render = company.texts.render

    def counting(language: Language, template_name: str, /, **context: Any) -> str:
        text = render(language, template_name, **context)
        if template_name == "card":
            drawn.append((language.value, text))
        return text

    company.texts.render = counting  # type: ignore[method-assign]
    # Boris and Maria both read English: their cards ring, then are missed, together.
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["102", "103"], answered_by=None)
    await mango.wait_idle()
    await drained(company)

    [boris_card] = [m for m in _calls(emulator, BORIS) if _is_card(m)]
    [maria_card] = [m for m in _calls(emulator, MARIA) if _is_card(m)]
    assert "Missed call" in boris_card.text
    assert boris_card.text == maria_card.text
    assert CLIENT_SHOWN in boris_card.text
    assert drawn, "no card was drawn"
    # Cards that show the same (both ringing, both no longer ringing, both missed) are
    # one drawing, not one each.
    assert all(one != next_one for one, next_one in itertools.pairwise(drawn))


async def test_all_missed_then_taken_then_called_back(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(company)

    alerts = {
        chat: _missed(emulator.bot_messages(chat)) for chat in (REP_ANNA, BORIS, MARIA, GROUP)
    }
    for chat, found in alerts.items():
        assert len([m for m in found if m.buttons]) == 1, (chat, _texts(emulator, chat))
    boris_alert = next(m for m in alerts[BORIS] if m.buttons)
    assert boris_alert.button_texts() == [
        "📞 Call back",
        "🙋 I'll take it",
        "🚫 No call back needed",
    ]
    assert CLIENT_SHOWN in boris_alert.text
    assert "It rang: Anna Petrova, Boris Ivanov" in boris_alert.text

    take = boris_alert.find_button("take")
    assert take.callback_data is not None
    emulator.press_button(BORIS, BORIS, boris_alert.message_id, take.callback_data)
    await drained(company)
    alert_ids = {
        chat: next(m.message_id for m in found if m.buttons) for chat, found in alerts.items()
    }
    for chat, message_id in alert_ids.items():
        [alert] = [m for m in emulator.bot_messages(chat) if m.message_id == message_id]
        assert "Boris" in alert.text, chat
        # "Call back", "No call back needed" (and "Spam", "Group calls back" for managers)
        managers = ("Spam", "Спам", "Group calls back", "Перезвонит группа")
        kept = [b for b in alert.button_texts() if not any(word in b for word in managers)]
        assert len(kept) == 2, chat

    await mango.play_callback("101", CLIENT)
    await mango.wait_idle()
    await drained(company)
    for chat, message_id in alert_ids.items():
        [alert] = [m for m in emulator.bot_messages(chat) if m.message_id == message_id]
        assert "Anna Petrova" in alert.text, (chat, alert.text)
        assert "Called back" in alert.text or "Перезвонил(а)" in alert.text, alert.text
        assert alert.buttons == []


@pytest.mark.parametrize("delivery", ["duplicate", "out_of_order"])
async def test_bad_delivery_gives_the_clean_transcript(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    company: App,
    delivery: str,
) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="102")
    await mango.play_inbound(LINE, "79005550000", group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(company)
    clean = {chat: _unclocked(emulator, chat) for chat in (REP_ANNA, BORIS, MARIA, GROUP)}
    # Closed, so that the same number missed again is a new missed call, not a repeat.
    [missed] = await company.notifier.missed.open_for("main", "+79005550000")
    await no_call_back(
        company.notifier.missed,
        company.notifier,
        missed.ref,
        "Maria",
        "103",
        NoCallBack.SOLVED,
        missed.at,
    )
    await drained(company)
    before = {chat: len(_texts(emulator, chat)) for chat in clean}

    mango.delivery = delivery  # type: ignore[assignment]
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="102")
    await mango.play_inbound(LINE, "79005550000", group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(company)
    for chat, texts in clean.items():
        # two calls run concurrently, so messages of different calls may interleave
        assert sorted(_unclocked(emulator, chat)[before[chat] :]) == sorted(texts), chat


async def test_recording_arrives_as_audio_once_ready(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await company.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.RECORDINGS)
    mango.recording_ready_after = 2  # the first two downloads answer "not found yet"
    record = await mango.play_inbound(
        LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="102", record=True
    )
    assert record.recording_id is not None
    await mango.wait_idle()
    await drained(company)
    stored = mango.recordings.items[record.recording_id]
    assert len(mango.commands("queries/recording/post")) >= 3  # two "not yet", then the file

    [audio] = [m for m in emulator.bot_messages(BORIS) if m.file]
    assert audio.file is not None
    assert audio.file["kind"] == "audio"
    assert audio.file["name"] == "+7 900 123-45-67.mp3"  # the client, not the PBX's id
    assert audio.file["size"] == len(stored.data) > 0
    card = _calls(emulator, BORIS)[0]
    assert audio.reply_to == card.message_id
    # MANGO reports the recording before the summary: in the group it still follows the
    # summary, as its reply.
    [summary, group_audio] = _calls(emulator, GROUP)
    assert summary.text.startswith("⬇️ Входящий звонок"), emulator.describe(GROUP)
    assert group_audio.file is not None
    assert group_audio.reply_to == summary.message_id


async def test_telegram_429_and_5xx_lose_and_double_nothing(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    emulator.inject_error("sendMessage", 429, count=2, retry_after=1)
    emulator.inject_error("editMessageText", 502, count=2)
    emulator.inject_error("sendMessage", 500, count=1)
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(company, patience=30)

    for chat in (REP_ANNA, BORIS, MARIA, GROUP):
        assert len(_missed(emulator.bot_messages(chat))) in (1, 2), chat
        assert len([m for m in _missed(emulator.bot_messages(chat)) if m.buttons]) == 1, chat


async def test_recording_waits_for_the_card_it_answers(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    """Cards held back by a 429 still come first: the recording follows as their reply."""
    emulator.inject_error("sendMessage", 429, count=3, retry_after=2)
    record = await mango.play_inbound(
        LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="102", record=True
    )
    assert record.recording_id is not None
    await mango.wait_idle()
    await drained(company, patience=30)

    card, audio = _calls(emulator, BORIS)
    assert card.text.startswith(f"✅ Call ended\n{CLIENT_SHOWN}"), emulator.describe(BORIS)
    assert audio.file is not None
    assert audio.reply_to == card.message_id


async def test_a_message_telegram_refuses_is_set_aside_at_once_and_admins_told_once(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    refusal = "Bad Request: chat not found"
    await emulator.wait_for_message(GROUP)  # the bot's hello, answered by a handler
    emulator.inject_error("sendMessage", 400, count=1, description=refusal)
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(company, patience=30)

    stream = company.keys.dead_letters(company.keys.outbox(0))
    dead = [fields or {} for _, fields in await company.redis.xrange(stream) or []]
    assert len(dead) == 1  # set aside at once, not redelivered into the dead letters again
    assert dead[0]["reason"] == refusal
    refused_chat = str(dead[0]["chat_id"])
    notices = [m.text for m in emulator.bot_messages(1000) if "refused a message" in m.text]
    assert notices == [
        f"⚠️ Telegram refused a message for chat {refused_chat} ({refusal}), so it was not "
        "sent. It is kept in pbxgram:outbox:0:dead; the bot's log has the details. "
        "pbxgram dead-letters list shows what failed; pbxgram dead-letters replay ID tries "
        "it again."
    ]
    assert emulator.failures == [("sendMessage", refusal)]  # tried once, never again
