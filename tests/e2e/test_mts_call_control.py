"""Acting on calls on MTS VPBX: blind transfer and hang-up from the card (no recording on
demand, no consult transfer, no routing of a ringing call: not offered), "call back the
last caller" and "redial" under /call, and "Найди меня" with /forward."""

from __future__ import annotations

from typing import Any

from bot.app import App
from sandbox.mts import MtsSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import REP_ANNA
from tests.e2e.test_mts import BORIS, CLIENT, CLIENT_SHOWN, company, pbx, settled, start
from tests.helpers import until

__all__ = ["company", "pbx", "start"]  # the MTS company's fixtures


async def card_saying(emulator: TelegramEmulator, chat: int, *words: str) -> ChatMessage:
    return await emulator.wait_for_message(
        chat, lambda m: CLIENT_SHOWN in m.text and all(w in m.text for w in words)
    )


async def press(emulator: TelegramEmulator, chat: int, message: ChatMessage, label: str) -> Any:
    data = message.find_button(label).callback_data or ""
    return await emulator.wait_for_callback_answer(
        emulator.press_button(chat, chat, message.message_id, data)
    )


async def test_a_blind_transfer_and_no_actions_mts_lacks(
    emulator: TelegramEmulator, pbx: MtsSimulator, company: App
) -> None:
    ringing_call = await pbx.play_live_inbound(CLIENT, ring=["102"])
    ringing = await card_saying(emulator, BORIS, "Incoming call")
    assert ringing.buttons == []  # MTS cannot send a ringing call elsewhere
    pbx.end_live_call(ringing_call)
    await settled(company, pbx)

    await pbx.play_live_inbound(CLIENT, ring=["102"], answered_by="102")
    talking = await card_saying(emulator, BORIS, "You are talking")
    assert talking.button_texts() == ["↪️ Transfer", "⛔ Hang up"]
    await press(emulator, BORIS, talking, "Transfer")
    picker = await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("Transfer the"))
    await press(emulator, BORIS, picker, "Anna")  # no consultation on MTS: at once
    await card_saying(emulator, BORIS, "Transferred to Anna Petrova.")
    await card_saying(emulator, REP_ANNA, "Вы разговариваете", "Звонок передал(а) Boris Ivanov")
    [transfer] = pbx.calls_to(
        "PUT", "/api/user/1736/calls/" + pbx.transfers[0][1] + "/BlindTransfer"
    )
    assert transfer.query == {"address": "101"}
    pbx.end_live_call()
    await settled(company, pbx)


async def test_hang_up_from_the_card(
    emulator: TelegramEmulator, pbx: MtsSimulator, company: App
) -> None:
    await pbx.play_live_inbound(CLIENT, ring=["102"], answered_by="102")
    talking = await card_saying(emulator, BORIS, "You are talking")
    await press(emulator, BORIS, talking, "Hang up")
    await card_saying(emulator, BORIS, "Hung up from Telegram.")
    await until(lambda: any(r.method == "DELETE" for r in pbx.requests))
    [hangup] = [r for r in pbx.requests if r.method == "DELETE"]
    assert hangup.path.startswith("/api/user/1736/calls/")
    await settled(company, pbx)
    assert "Call ended" in (await card_saying(emulator, BORIS, "Call ended")).text


async def test_call_back_the_last_caller_and_redial(
    emulator: TelegramEmulator, pbx: MtsSimulator, company: App
) -> None:
    call = await pbx.play_live_inbound(CLIENT, ring=["102"])
    pbx.end_live_call(call)  # Boris missed it
    await settled(company, pbx)

    emulator.send_text(BORIS, "/call")
    usage = await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("📞 /call"))
    assert usage.button_texts() == ["🔁 Call back the last caller", "🔂 Redial"]
    await press(emulator, BORIS, usage, "last caller")
    await emulator.wait_for_message(
        BORIS,
        lambda m: (
            m.text
            == "🔁 The PBX is calling you on 102. Pick up, and it will connect you to whoever"
            " called you last."
        ),
    )
    assert len(pbx.calls_to("POST", "/api/user/1736/calls/CallReturn")) == 1
    await pbx.wait_idle()
    await press(emulator, BORIS, usage, "Redial")
    await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("🔂 The PBX is calling"))
    assert len(pbx.calls_to("POST", "/api/user/1736/calls/LastNumberRedial")) == 1
    await settled(company, pbx)


async def test_forward_sets_find_me_to_the_stored_mobile(
    emulator: TelegramEmulator, pbx: MtsSimulator, company: App
) -> None:
    emulator.send_text(BORIS, "/forward")
    shown = await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("📲"))
    assert shown.text == '📲 "Find me" is off: your calls ring your office phone only.'
    assert shown.button_texts() == [
        "🔔 Ring my mobile too",
        "⏭ Then my mobile",
        "↪️ Only my mobile",
        "✓ ⛔ Off",
    ]
    answer = await press(emulator, BORIS, shown, "Ring my mobile too")
    assert answer["text"] == "Set your mobile number first: /mobile +7 999 123-45-67"

    emulator.send_text(BORIS, "/mobile +7 916 555-00-11")
    await emulator.wait_for_message(BORIS, lambda m: m.text.startswith("Saved"))
    await press(emulator, BORIS, shown, "Ring my mobile too")
    on = await emulator.wait_for_message(
        BORIS, lambda m: m.message_id == shown.message_id and "at the same time" in m.text
    )
    assert on.text == '📲 "Find me": your calls also ring +7 916 555-00-11 at the same time.'
    assert "✓ 🔔 Ring my mobile too" in on.button_texts()
    [rule] = pbx.find_me.of(1736)["parallelRules"]
    assert [n["number"] for n in rule["ruleNumbers"]] == ["89165550011"]

    await press(emulator, BORIS, on, "Off")
    await emulator.wait_for_message(
        BORIS, lambda m: m.message_id == shown.message_id and "is off" in m.text
    )
    assert all(rules == [] for rules in pbx.find_me.of(1736).values())
