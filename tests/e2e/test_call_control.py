"""Acting on a call from its card (MANGO): transfer (blind and with a consultation),
hang-up, recording on demand, and a ringing call sent to one's mobile or to a colleague.
Every card of the call follows what the PBX then does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest_asyncio

from bot.app import App
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.conftest import FAST
from tests.e2e.conftest import BORIS, LINE, MARIA, REP_ANNA, drained, staff

CLIENT = "79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"
MOBILE = "+79165550011"


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, staffed: App) -> App:
    return staffed


@pytest_asyncio.fixture
async def impatient(emulator: TelegramEmulator, start_app: Callable[..., Any]) -> App:
    """The company, giving up on a PBX request after a second."""
    return await staff(emulator, await start_app(replace(FAST, pbx_timeout=httpx.Timeout(1.0))))


def card(emulator: TelegramEmulator, chat: int) -> ChatMessage:
    """The chat's latest card (the bot's latest message with a client in it)."""
    return [m for m in emulator.bot_messages(chat) if CLIENT_SHOWN in m.text][-1]


async def card_saying(
    emulator: TelegramEmulator, chat: int, *words: str, patience: float = 5.0
) -> ChatMessage:
    """Wait until the chat's card shows all ``words``."""
    return await emulator.wait_for_message(
        chat, lambda m: CLIENT_SHOWN in m.text and all(w in m.text for w in words), timeout=patience
    )


async def press(emulator: TelegramEmulator, chat: int, message: ChatMessage, label: str) -> Any:
    query = emulator.press_button(
        chat, chat, message.message_id, message.find_button(label).callback_data or ""
    )
    return await emulator.wait_for_callback_answer(query)


async def live_call(mango: MangoSimulator, **options: Any) -> asyncio.Task[Any]:
    options.setdefault("ring", ["101"])
    return asyncio.create_task(mango.play_live_inbound(LINE, CLIENT, **options))


async def finished(app: App, mango: MangoSimulator, call: asyncio.Task[Any]) -> None:
    mango.end_live_call()
    await call
    await mango.wait_idle()
    await drained(app)


def without_id(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in c.items() if k != "command_id"} for c in commands]


async def test_a_blind_transfer_hands_the_client_to_a_colleague(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    call = await live_call(mango, answered_by="101")
    talking = await card_saying(emulator, REP_ANNA, "Вы разговариваете")
    assert talking.button_texts() == ["↪️ Перевести", "⏺ Записать", "⛔ Завершить"]

    await press(emulator, REP_ANNA, talking, "Перевести")
    picker = await emulator.wait_for_message(
        REP_ANNA, lambda m: m.text.startswith("Перевести звонок")
    )
    assert picker.text == f"Перевести звонок с {CLIENT_SHOWN} на:"
    assert picker.reply_to == talking.message_id
    assert picker.button_texts() == [
        "Boris Ivanov",
        "Maria Smirnova",
        "📝 Другой номер…",
        "✖ Отмена",
    ]
    await press(emulator, REP_ANNA, picker, "Boris")
    modes = await emulator.wait_for_message(REP_ANNA, lambda m: m.text.endswith("на Boris Ivanov:"))
    assert modes.button_texts() == [
        "➡️ Перевести сразу",
        "🔀 Сначала поговорить с Boris Ivanov",
        "✖ Отмена",
    ]
    await press(emulator, REP_ANNA, modes, "Перевести сразу")

    boris = await card_saying(emulator, BORIS, "You are talking")
    assert boris.button_texts() == ["↪️ Transfer", "⏺ Record", "⛔ Hang up"]
    anna = await card_saying(emulator, REP_ANNA, "Переведён на Boris Ivanov.", "Звонок завершён")
    assert anna.button_texts() == ["📞 Перезвонить"]  # nothing left to act on
    assert all(m.message_id != picker.message_id for m in emulator.bot_messages(REP_ANNA))
    [leg] = [c["call_id"] for c in mango.commands("commands/transfer")]
    assert without_id(mango.commands("commands/transfer")) == [
        {"call_id": leg, "method": "blind", "to_number": "102", "initiator": "to.extension"}
    ]
    await finished(company, mango, call)
    assert "Call ended" in card(emulator, BORIS).text


async def test_a_consult_transfer_holds_the_client_while_the_rep_asks_a_colleague(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    mango.consult_handover_delay = 1.0
    call = await live_call(mango, answered_by="101")
    talking = await card_saying(emulator, REP_ANNA, "Вы разговариваете")
    await press(emulator, REP_ANNA, talking, "Перевести")
    picker = await emulator.wait_for_message(
        REP_ANNA, lambda m: m.text.startswith("Перевести звонок")
    )
    await press(emulator, REP_ANNA, picker, "Boris")
    modes = await emulator.wait_for_message(REP_ANNA, lambda m: m.text.endswith("на Boris Ivanov:"))
    await press(emulator, REP_ANNA, modes, "Сначала поговорить")

    held = await card_saying(emulator, REP_ANNA, "на удержании", "Консультация с Boris Ivanov")
    assert "Положите трубку" in held.text
    assert without_id(mango.commands("commands/transfer"))[0]["method"] == "hold"
    await card_saying(emulator, BORIS, "You are talking")
    await card_saying(emulator, REP_ANNA, "Звонок завершён")
    await finished(company, mango, call)
    assert "Call ended" in card(emulator, BORIS).text


async def test_another_number_takes_a_typed_number(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    call = await live_call(mango, ring=["102"], answered_by="102")
    talking = await card_saying(emulator, BORIS, "You are talking")
    await press(emulator, BORIS, talking, "Transfer")
    picker = await emulator.wait_for_message(
        BORIS, lambda m: m.text.startswith("Transfer the call")
    )
    await press(emulator, BORIS, picker, "Another number")
    await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("Send the number"))
    emulator.send_text(BORIS, "not a number")
    await emulator.wait_for_message(
        BORIS, lambda m: m.text.startswith("That is not a phone number")
    )
    emulator.send_text(BORIS, "8 916 555-00-22")
    await card_saying(emulator, BORIS, "Transferred to +7 916 555-00-22.")
    assert without_id(mango.commands("commands/transfer")) == [
        {
            "call_id": without_id(mango.commands("commands/transfer"))[0]["call_id"],
            "method": "blind",
            "to_number": "79165550022",
            "initiator": "to.extension",
        }
    ]
    await finished(company, mango, call)


async def test_hang_up_from_the_card_once_however_often_it_is_pressed(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    call = await live_call(mango, ring=["102"], answered_by="102")
    talking = await card_saying(emulator, BORIS, "You are talking")
    data = talking.find_button("Hang up").callback_data or ""
    first = emulator.press_button(BORIS, BORIS, talking.message_id, data)
    second = emulator.press_button(BORIS, BORIS, talking.message_id, data)
    answers = [(await emulator.wait_for_callback_answer(q)).get("text") for q in (first, second)]
    assert sorted(answers, key=str) == sorted([None, "Already on it."], key=str)

    ended = await card_saying(emulator, BORIS, "Call ended", "Hung up from Telegram.")
    assert ended.buttons == [] or "Hang up" not in ended.button_texts()
    assert len(mango.commands("commands/call/hangup")) == 1
    await call
    await mango.wait_idle()
    await drained(company)


async def test_record_on_demand_then_the_recording_arrives(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    call = await live_call(mango, ring=["102"], answered_by="102")
    talking = await card_saying(emulator, BORIS, "You are talking")
    await press(emulator, BORIS, talking, "Record")
    recording = await card_saying(emulator, BORIS, "⏺ Recording.")
    assert "⏺ Record" not in recording.button_texts()
    assert without_id(mango.commands("commands/recording/start")) == [
        {
            "call_id": mango.commands("commands/recording/start")[0]["call_id"],
            "call_party_number": "102",
        }
    ]
    await finished(company, mango, call)
    await emulator.wait_for_message(BORIS, lambda m: m.file is not None)


async def test_a_ringing_call_goes_to_the_reps_mobile(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    call = await live_call(mango, ring=["102"])
    ringing = await card_saying(emulator, BORIS, "Incoming call")
    assert ringing.button_texts() == ["📲 To my mobile", "↪️ To a colleague"]
    answer = await press(emulator, BORIS, ringing, "To my mobile")
    assert answer["text"] == "Set your mobile number first: /mobile +7 999 123-45-67"
    assert answer["show_alert"] is True
    assert mango.commands("commands/route") == []

    emulator.send_text(BORIS, "/mobile 12")
    await emulator.wait_for_message(
        BORIS, lambda m: m.text.startswith("That is not a phone number")
    )
    emulator.send_text(BORIS, "/mobile 8 916 555-00-11")
    await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("Saved: +7 916 555-00-11"))
    await press(emulator, BORIS, ringing, "To my mobile")
    await card_saying(emulator, BORIS, "Sent to your mobile +7 916 555-00-11.")
    [route] = without_id(mango.commands("commands/route"))
    assert route["to_number"] == "79165550011"
    await card_saying(emulator, BORIS, "You are talking")  # on the mobile, still Boris
    await finished(company, mango, call)
    assert "Call ended" in card(emulator, BORIS).text
    assert "Missed" not in card(emulator, BORIS).text


async def test_a_ringing_call_goes_to_a_colleague(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    call = await live_call(mango, ring=["102"])
    ringing = await card_saying(emulator, BORIS, "Incoming call")
    await press(emulator, BORIS, ringing, "To a colleague")
    picker = await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("Send the call"))
    await press(emulator, BORIS, picker, "Anna")
    await card_saying(emulator, BORIS, "Passed to Anna Petrova.")
    assert without_id(mango.commands("commands/route"))[0]["to_number"] == "101"
    await card_saying(emulator, REP_ANNA, "Вы разговариваете")
    await finished(company, mango, call)


async def test_a_manager_may_act_on_a_colleagues_call_a_rep_may_not(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    call = await live_call(mango, ring=["102", "103"], answered_by="102")
    await card_saying(emulator, BORIS, "You are talking")
    maria = await card_saying(emulator, MARIA, "Answered by Boris Ivanov")
    assert maria.button_texts() == ["↪️ Transfer", "⏺ Record", "⛔ Hang up"]
    await press(emulator, MARIA, maria, "Hang up")
    await card_saying(emulator, BORIS, "Hung up from Telegram. (Maria)")
    await call
    await mango.wait_idle()
    await drained(company)

    # A rep's card of a colleague's call offers nothing to act on.
    call = await live_call(mango, ring=["101", "102"], answered_by="102")
    anna = await card_saying(emulator, REP_ANNA, "Ответил(а) Boris Ivanov")
    assert anna.buttons == []
    await finished(company, mango, call)


async def test_pbx_error_codes_become_sentences_on_the_card(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    call = await live_call(mango, ring=["102"], answered_by="102")
    talking = await card_saying(emulator, BORIS, "You are talking")
    mango.fail_next("commands/call/hangup", code=3100, http_status=420)
    await press(emulator, BORIS, talking, "Hang up")
    failed = await card_saying(
        emulator, BORIS, "Not hung up: The command was sent with invalid parameters."
    )
    assert "You are talking" in failed.text
    await finished(company, mango, call)


async def test_a_pbx_answering_too_late_is_followed_to_its_result(
    emulator: TelegramEmulator, mango: MangoSimulator, impatient: App
) -> None:
    call = await live_call(mango, ring=["102"], answered_by="102", talk_timeout=30.0)
    talking = await card_saying(emulator, BORIS, "You are talking")
    mango.stall_next("commands/recording/start", 2.5, carry_out=True)
    await press(emulator, BORIS, talking, "Record")
    await card_saying(emulator, BORIS, "the PBX has not answered yet")
    await card_saying(emulator, BORIS, "⏺ Recording.", patience=10.0)
    await finished(impatient, mango, call)


async def test_what_only_mts_keeps_is_neither_offered_nor_done_on_mango(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    emulator.send_text(BORIS, "/forward")
    refusal = await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("/forward"))
    assert refusal.text == "/forward is not available: your PBX (MANGO OFFICE) does not offer it."
    assert refusal.buttons == []
    emulator.send_text(BORIS, "/call")
    usage = await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("📞 /call"))
    assert usage.buttons == []  # no "call back the last caller", no "redial"
