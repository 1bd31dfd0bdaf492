"""Click-to-call and SMS from Telegram, against the MANGO simulator: what people see (the
announcement, then the same message edited with the outcome) and the signed requests the
PBX received, always from the person's own extension.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest_asyncio

from bot.app import App
from bot.domain import Role
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.conftest import MANGO_ACCOUNT
from tests.e2e.conftest import FAST, LINE, REP_ANNA, STRANGER, drained
from tests.helpers import until

BORIS = 2002  # English, extension 102
CLIENT = "79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"

ANNA_CALLING = f"📞 Звоним вам на 101, затем на {CLIENT_SHOWN}…"
ANNA_RINGING = f"📞 АТС звонит вам на 101. Возьмите трубку, и она соединит вас с {CLIENT_SHOWN}."
BORIS_RINGING = (
    f"📞 The PBX is calling you on 102. Pick up, and it will connect you to {CLIENT_SHOWN}."
)
BORIS_UNANSWERED = (
    f"❓ The PBX did not answer in time, so the call to {CLIENT_SHOWN} may still come "
    "through. If your phone on 102 does not ring within a minute, try again."
)


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, start_app: Callable[..., Any]) -> App:
    return await _company(emulator, start_app)


async def _company(
    emulator: TelegramEmulator, start_app: Callable[..., Any], **overrides: Any
) -> App:
    emulator.add_user(BORIS, "Boris", username="boris", language_code="en")
    app: App = await start_app(**overrides)
    for person in (REP_ANNA, BORIS):
        emulator.send_text(person, "/start")
        await emulator.wait_for_message(person)
    await app.access.link("main", "101", REP_ANNA, Role.REP)
    await app.access.link("main", "102", BORIS, Role.REP)
    return app


def say(emulator: TelegramEmulator, user: int, text: str, *, reply_to: int | None = None) -> int:
    """The person writes ``text`` in their private chat; the id of their message."""
    update = emulator.send_text(user, text, reply_to=reply_to)
    return int(update["message"]["message_id"])


async def answer_to(
    emulator: TelegramEmulator, user: int, message_id: int, text: str | None = None
) -> ChatMessage:
    """The bot's reply to ``message_id`` once it reads ``text`` (any text when None)."""
    return await emulator.wait_for_message(
        user, lambda m: m.reply_to == message_id and (text is None or m.text == text)
    )


async def next_message(emulator: TelegramEmulator, user: int, after: int) -> ChatMessage:
    return await emulator.wait_for_message(user, lambda m: m.message_id > after)


def new_messages(emulator: TelegramEmulator, user: int, after: int) -> list[str]:
    """Texts of the bot's messages after ``after`` (call recordings left out)."""
    return [m.text for m in emulator.bot_messages(user) if m.message_id > after and not m.file]


def edited_texts(emulator: TelegramEmulator, chat: int) -> list[str]:
    """What the bot's edits in ``chat`` said, in order (parameters arrive as strings)."""
    return [
        str(p["text"])
        for method, p in emulator.requests
        if method == "editMessageText" and str(p["chat_id"]) == str(chat)
    ]


def edits_in(emulator: TelegramEmulator, chat: int) -> int:
    return len(edited_texts(emulator, chat))


def callbacks(mango: MangoSimulator) -> list[dict[str, Any]]:
    """commands/callback requests without their generated command ids."""
    return [
        {k: v for k, v in payload.items() if k != "command_id"}
        for payload in mango.commands("commands/callback")
    ]


# /call -----------------------------------------------------------------------------------
async def test_call_rings_my_extension_then_shows_the_result_in_the_same_message(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    asked = say(emulator, REP_ANNA, "/call +7 900 123-45-67")

    status = await answer_to(emulator, REP_ANNA, asked, ANNA_RINGING)
    await mango.wait_idle()
    await drained(company)
    assert status.edited
    assert callbacks(mango) == [{"from": {"extension": "101"}, "to_number": CLIENT}]
    [command_id] = [p["command_id"] for p in mango.commands("commands/callback")]
    assert command_id.startswith("pbxgram-")
    assert ("result/callback", {"command_id": command_id, "result": 1000}, 200) in mango.posted
    assert new_messages(emulator, REP_ANNA, asked) == [ANNA_RINGING]
    # The call's recording answers the message that placed it.
    [recording] = [m for m in emulator.bot_messages(REP_ANNA) if m.file]
    assert recording.reply_to == status.message_id


@pytest_asyncio.fixture
async def impatient(emulator: TelegramEmulator, start_app: Callable[..., Any]) -> App:
    """The company, giving up on a PBX request after a second."""
    tuning = replace(FAST, pbx_timeout=httpx.Timeout(1.0))
    return await _company(emulator, start_app, tuning=tuning)


async def test_a_call_the_pbx_answers_too_late_is_followed_to_its_result(
    emulator: TelegramEmulator, mango: MangoSimulator, impatient: App
) -> None:
    mango.stall_next("commands/callback", 2.5, carry_out=True)  # busy, but it does place it
    asked = say(emulator, BORIS, "/call +7 900 123-45-67")

    unsure = await answer_to(emulator, BORIS, asked)
    await emulator.wait_for_message(
        BORIS, lambda m: m.message_id == unsure.message_id and m.text.startswith("❓")
    )
    status = await answer_to(emulator, BORIS, asked, BORIS_RINGING)
    await mango.wait_idle()
    await drained(impatient)
    assert edited_texts(emulator, BORIS) == [BORIS_UNANSWERED, BORIS_RINGING]
    assert callbacks(mango) == [{"from": {"extension": "102"}, "to_number": CLIENT}]  # once
    assert status.message_id == unsure.message_id


async def test_a_call_the_pbx_never_answers_is_not_called_failed(
    emulator: TelegramEmulator, mango: MangoSimulator, impatient: App
) -> None:
    mango.stall_next("commands/callback", 2.5)  # and then it drops it
    asked = say(emulator, BORIS, "/call +7 900 123-45-67")

    await answer_to(emulator, BORIS, asked, BORIS_UNANSWERED)
    given_up = [504]  # the PBX gives the request up once its stall is over
    path = "commands/callback"
    await until(lambda: [r.status for r in mango.requests if r.path == path] == given_up)
    await drained(impatient)
    assert new_messages(emulator, BORIS, asked) == [BORIS_UNANSWERED]
    assert [r.status for r in mango.requests if r.path == "commands/callback"] == [504]


async def test_call_refused_to_someone_not_linked(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    asked = say(emulator, STRANGER, "/call 89001234567")

    refusal = await next_message(emulator, STRANGER, asked)
    assert refusal.text.startswith("This command works once you are linked to your extension.")
    await drained(company)
    assert mango.commands("commands/callback") == []


async def test_call_in_reply_to_a_message_with_a_number(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    note = say(emulator, BORIS, "Client asked to call back on 8 (900) 123-45-67 after lunch")
    await next_message(emulator, BORIS, note)  # a note, not a number: not understood
    asked = say(emulator, BORIS, "/call", reply_to=note)

    await answer_to(emulator, BORIS, asked, BORIS_RINGING)
    assert callbacks(mango) == [{"from": {"extension": "102"}, "to_number": CLIENT}]

    plain = say(emulator, BORIS, "nothing to dial here")
    await next_message(emulator, BORIS, plain)
    asked = say(emulator, BORIS, "/call", reply_to=plain)
    empty = await next_message(emulator, BORIS, asked)
    assert empty.text == (
        "There is no phone number in that message. "
        "Write it after the command: /call +7 999 123-45-67."
    )
    assert len(mango.commands("commands/callback")) == 1


async def test_shared_contact_offers_a_call_button(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    emulator.share_contact(BORIS, "+7 900 123 45 67", first_name="Ivan")
    offer = await emulator.wait_for_message(BORIS, lambda m: bool(m.buttons))
    assert offer.text == (f"📞 {CLIENT_SHOWN}\nI will call you on 102 first, then this number.")
    assert offer.button_texts() == ["📞 Call", "✉️ SMS"]
    assert mango.commands("commands/callback") == []

    call = offer.find_button("Call").callback_data
    assert call is not None
    pressed = emulator.press_button(BORIS, BORIS, offer.message_id, call)
    answer = await emulator.wait_for_callback_answer(pressed)
    assert answer.get("text") == "Calling you on 102…"
    status = await answer_to(emulator, BORIS, offer.message_id, BORIS_RINGING)
    assert status.edited
    assert callbacks(mango) == [{"from": {"extension": "102"}, "to_number": CLIENT}]


async def test_contacts_still_link_people_who_are_not_linked(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    emulator.send_text(STRANGER, "/start")
    await emulator.wait_for_message(STRANGER)
    emulator.share_contact(STRANGER, "+7 900 123 45 67")  # not their own
    refusal = await emulator.wait_for_message(STRANGER, lambda m: "your own" in m.text)
    assert "other people's contacts are not accepted" in refusal.text
    assert refusal.buttons == []
    emulator.share_contact(REP_ANNA, "+7 999 111-22-33", contact_user_id=REP_ANNA)  # her own
    await emulator.wait_for_message(
        REP_ANNA, lambda m: "101" in m.text and "Позвонить" not in m.button_texts()
    )
    assert mango.commands("commands/callback") == []


async def test_a_bare_number_in_private_gets_call_and_sms_buttons(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    sent = say(emulator, REP_ANNA, "8 900 123-45-67")

    offer = await next_message(emulator, REP_ANNA, sent)
    assert offer.text == f"📞 {CLIENT_SHOWN}\nСначала позвоню вам на 101, потом на этот номер."
    assert offer.button_texts() == ["📞 Позвонить", "✉️ SMS"]

    sms = offer.find_button("SMS").callback_data
    assert sms is not None
    emulator.press_button(REP_ANNA, REP_ANNA, offer.message_id, sms)
    await emulator.wait_for_message(REP_ANNA, lambda m: m.text.startswith("✉️ Напишите текст"))
    reply = say(emulator, REP_ANNA, "Перезвоните, пожалуйста")
    delivered = f"✅ SMS на {CLIENT_SHOWN} доставлено.\nПерезвоните, пожалуйста"
    await answer_to(emulator, REP_ANNA, reply, delivered)
    assert [p["text"] for p in mango.commands("commands/sms")] == ["Перезвоните, пожалуйста"]


# /sms ------------------------------------------------------------------------------------
async def test_sms_in_one_message_is_sent_and_reported_delivered(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    asked = say(emulator, REP_ANNA, "/sms +7 900 123-45-67 Добрый день!\nЗаказ готов.")

    status = await answer_to(
        emulator,
        REP_ANNA,
        asked,
        f"✅ SMS на {CLIENT_SHOWN} доставлено.\nДобрый день!\nЗаказ готов.",
    )
    assert status.edited
    assert "<blockquote>Добрый день!\nЗаказ готов.</blockquote>" in (status.html or "")
    [payload] = mango.commands("commands/sms")
    assert payload == {
        "command_id": payload["command_id"],
        "text": "Добрый день!\nЗаказ готов.",
        "from_extension": "101",
        "to_number": CLIENT,
        "sms_sender": "",  # none configured: the name chosen in the PBX settings
    }


async def test_sms_goes_out_under_the_configured_sender_name(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: Callable[..., Any]
) -> None:
    await _company(emulator, start_app, account={"sms_sender": "PRO-TAXI"})
    asked = say(emulator, BORIS, "/sms 89001234567 Your taxi is here")
    await answer_to(
        emulator, BORIS, asked, f"✅ The SMS to {CLIENT_SHOWN} was delivered.\nYour taxi is here"
    )
    [payload] = mango.commands("commands/sms")
    assert payload["sms_sender"] == "PRO-TAXI"
    assert payload["from_extension"] == "102"


async def test_sms_acceptance_then_delivery_edit_the_same_message(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    mango.auto_play = False
    asked = say(emulator, BORIS, "/sms 89001234567 Your order is ready")
    sending = f"✉️ Sending an SMS to {CLIENT_SHOWN} from 102…\nYour order is ready"
    await answer_to(emulator, BORIS, asked, sending)
    await drained(company)
    [payload] = mango.commands("commands/sms")
    command_id = payload["command_id"]

    await mango.post("result/sms", {"command_id": command_id, "result": 1000})
    accepted = (
        f"✉️ The PBX accepted the SMS to {CLIENT_SHOWN} and is delivering it…\nYour order is ready"
    )
    await answer_to(emulator, BORIS, asked, accepted)
    await mango.post("events/sms", {"command_id": command_id, "timestamp": 1, "reason": 4392})
    rejected = (
        f"❌ The SMS to {CLIENT_SHOWN} was not delivered. The carrier rejected the SMS."
        "\nYour order is ready"
    )
    await answer_to(emulator, BORIS, asked, rejected)
    await mango.post("result/sms", {"command_id": command_id, "result": 1000})  # again, late
    await drained(company)
    assert new_messages(emulator, BORIS, asked) == [rejected]


async def test_sms_refused_by_the_pbx(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    mango.fail_next("commands/sms", code=3100)
    asked = say(emulator, BORIS, "/sms 89001234567 Hi")
    await answer_to(
        emulator,
        BORIS,
        asked,
        f"❌ The SMS to {CLIENT_SHOWN} was not sent. The command was sent with invalid parameters."
        "\nHi",
    )


async def test_sms_too_long_is_refused_without_asking_the_pbx(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    asked = say(emulator, REP_ANNA, "/sms 89001234567 " + "я" * 269)
    refusal = await next_message(emulator, REP_ANNA, asked)
    assert refusal.text == "Текст SMS слишком длинный: 269 символов, а можно не больше 268."
    asked = say(emulator, BORIS, "/sms 89001234567 " + "a" * 613)
    refusal = await next_message(emulator, BORIS, asked)
    assert refusal.text == "The SMS is too long: 613 characters, the limit is 612."
    await drained(company)
    assert mango.commands("commands/sms") == []


async def test_sms_in_two_steps_cancel_and_other_commands(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    ask = f"✉️ Write the text of the SMS to {CLIENT_SHOWN}.\n/cancel: don't send it."
    asked = say(emulator, BORIS, "/sms 8 900 123 45 67")
    assert (await next_message(emulator, BORIS, asked)).text == ask
    asked = say(emulator, BORIS, "/cancel")
    assert (await next_message(emulator, BORIS, asked)).text == "OK, the SMS is not sent."
    asked = say(emulator, BORIS, "Hello there")
    assert (await next_message(emulator, BORIS, asked)).text.startswith("I don't understand")

    asked = say(emulator, BORIS, "/sms 89001234567")
    await next_message(emulator, BORIS, asked)
    asked = say(emulator, BORIS, "/whoami")  # another command: the SMS is dropped
    await next_message(emulator, BORIS, asked)
    asked = say(emulator, BORIS, "Hello there")
    assert (await next_message(emulator, BORIS, asked)).text.startswith("I don't understand")

    asked = say(emulator, BORIS, "/sms 89001234567")
    await next_message(emulator, BORIS, asked)
    asked = say(emulator, BORIS, "b" * 700)
    refusal = await next_message(emulator, BORIS, asked)
    assert refusal.text == (
        "The SMS is too long: 700 characters, the limit is 612. Send another text, or /cancel."
    )
    asked = say(emulator, BORIS, "See you at 5")
    await answer_to(emulator, BORIS, asked)
    await mango.wait_idle()
    await drained(company)
    assert [(p["text"], p["from_extension"]) for p in mango.commands("commands/sms")] == [
        ("See you at 5", "102")
    ]


async def test_call_back_from_a_missed_alert_and_from_the_missed_card(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by=None)
    await mango.wait_idle()
    await drained(company)
    [card, alert] = emulator.bot_messages(REP_ANNA)[-2:]
    assert card.text.startswith("❌ Пропущенный звонок"), card.text
    assert [b.text for b in card.buttons[0]] == ["📞 Перезвонить"]  # then the outcome tags
    assert alert.button_texts() == ["📞 Перезвонить", "🙋 Беру", "🚫 Перезванивать не нужно"]

    back = alert.find_button("Перезвонить").callback_data
    assert back is not None
    pressed = emulator.press_button(REP_ANNA, REP_ANNA, alert.message_id, back)
    answer = await emulator.wait_for_callback_answer(pressed)
    assert answer.get("text") == "Звоним вам на 101, затем клиенту."
    await emulator.wait_for_message(REP_ANNA, lambda m: m.text == ANNA_RINGING)
    # from the line the client called in on
    back_on_line = {"from": {"extension": "101"}, "to_number": CLIENT, "line_number": LINE}
    assert callbacks(mango) == [back_on_line]

    await mango.wait_idle()
    await drained(company)
    back = card.find_button("Перезвонить").callback_data
    assert back is not None
    emulator.press_button(REP_ANNA, REP_ANNA, card.message_id, back)
    await answer_to(emulator, REP_ANNA, card.message_id, ANNA_RINGING)
    assert callbacks(mango) == [back_on_line] * 2


async def test_a_failure_code_in_the_result_edits_the_message_once(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    mango.auto_play = False  # the PBX accepts the request; the result comes when we say
    asked = say(emulator, REP_ANNA, "/call 89001234567")
    await answer_to(emulator, REP_ANNA, asked, ANNA_CALLING)
    await drained(company)
    [payload] = mango.commands("commands/callback")
    failed = f"❌ Звонок на {CLIENT_SHOWN} не состоялся. АТС не поддерживает эту команду."

    result = {"command_id": payload["command_id"], "result": 4001}
    await mango.post("result/callback", result)
    status = await answer_to(emulator, REP_ANNA, asked, failed)
    assert status.edited
    await drained(company)
    edits = edits_in(emulator, REP_ANNA)
    await mango.post("result/callback", result)  # the PBX delivers the result again
    await drained(company)
    assert edits_in(emulator, REP_ANNA) == edits
    assert new_messages(emulator, REP_ANNA, asked) == [failed]


async def test_pbx_errors_become_sentences(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    mango.fail_next("commands/callback", code=2240)
    asked = say(emulator, REP_ANNA, "/call 89001234567")
    await answer_to(
        emulator,
        REP_ANNA,
        asked,
        f"❌ Звонок на {CLIENT_SHOWN} не состоялся. Недостаточно средств на счёте АТС.",
    )

    mango.fail_next("commands/callback", code=3100, http_status=420)
    asked = say(emulator, BORIS, "/call 89001234567")
    await answer_to(
        emulator,
        BORIS,
        asked,
        f"❌ The call to {CLIENT_SHOWN} did not go through. "
        "The command was sent with invalid parameters.",
    )


async def test_rate_limited_pbx_is_retried_then_explained(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    mango.fail_next("commands/callback", http_status=503, times=1)
    asked = say(emulator, REP_ANNA, "/call 89001234567")
    await answer_to(emulator, REP_ANNA, asked, ANNA_RINGING)  # the retry went through

    mango.fail_next("commands/callback", http_status=503, times=4)
    asked = say(emulator, BORIS, "/call 89001234567")
    await answer_to(
        emulator,
        BORIS,
        asked,
        f"❌ The call to {CLIENT_SHOWN} did not go through. "
        "The PBX is getting too many requests right now. Try again in a minute.",
    )
    turned_away = [r for r in mango.requests if r.path == "commands/callback" and r.status == 503]
    assert len(turned_away) == 5  # one, then four: the first try and three retries
    assert callbacks(mango) == [{"from": {"extension": "101"}, "to_number": CLIENT}]


async def test_a_number_that_cannot_be_read_is_explained(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    asked = say(emulator, BORIS, "/call tomorrow")
    refusal = await next_message(emulator, BORIS, asked)
    assert refusal.text == (
        "I cannot read «tomorrow» as a phone number. Write it like +7 999 123-45-67 or 89991234567."
    )
    asked = say(emulator, BORIS, "/sms 12 hello")
    refusal = await next_message(emulator, BORIS, asked)
    assert refusal.text.startswith("I cannot read «12» as a phone number.")
    asked = say(emulator, BORIS, "/call")
    usage = await next_message(emulator, BORIS, asked)
    assert usage.text.startswith("📞 /call number: I call you on your extension first")
    await drained(company)
    assert mango.commands("commands/callback") == mango.commands("commands/sms") == []


async def test_calls_per_person_are_limited(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: Callable[..., Any]
) -> None:
    app = await _company(emulator, start_app, call_limit="2/minute", sms_limit="1/2minute")
    for _ in range(2):
        asked = say(emulator, BORIS, "/call 89001234567")
        await answer_to(emulator, BORIS, asked, BORIS_RINGING)
    asked = say(emulator, BORIS, "/call 89001234567")
    refusal = await next_message(emulator, BORIS, asked)
    assert refusal.text == "Too many calls (at most 2 per minute). Try again a little later."
    asked = say(emulator, REP_ANNA, "/call 89001234567")  # her own limit is untouched
    await answer_to(emulator, REP_ANNA, asked, ANNA_RINGING)

    asked = say(emulator, REP_ANNA, "/sms 89001234567 Раз")
    await answer_to(emulator, REP_ANNA, asked)
    asked = say(emulator, REP_ANNA, "/sms 89001234567 Два")
    refusal = await next_message(emulator, REP_ANNA, asked)
    assert refusal.text == "Слишком много SMS (не больше 1 за 2 мин.). Попробуйте чуть позже."
    await mango.wait_idle()
    await drained(app)
    assert len(mango.commands("commands/callback")) == 3
    assert [p["text"] for p in mango.commands("commands/sms")] == ["Раз"]


async def test_a_pbx_without_click_to_call_says_so(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: Callable[..., Any]
) -> None:
    relay = {"id": "asterisk", "provider": "relay", "secret": "relay-secret-0123456789"}
    app: App = await start_app(
        accounts=[{**MANGO_ACCOUNT, "api_url": mango.base_url}, relay],
    )
    emulator.send_text(STRANGER, "/start")
    await emulator.wait_for_message(STRANGER)
    await app.access.link("asterisk", "201", STRANGER, Role.REP)

    asked = say(emulator, STRANGER, "/call 89001234567")
    refusal = await next_message(emulator, STRANGER, asked)
    assert refusal.text == "/call is not available: your PBX (asterisk) does not offer it."
    asked = say(emulator, STRANGER, "/sms 89001234567")
    refusal = await next_message(emulator, STRANGER, asked)
    assert refusal.text == "/sms is not available: your PBX (asterisk) does not offer it."
