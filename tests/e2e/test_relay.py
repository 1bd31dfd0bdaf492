"""A relay-format PBX (an Asterisk script) driving the real app, as people see it in Telegram."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio
from redis.asyncio import Redis

from bot.app import App, running
from bot.config import Settings
from bot.domain import Role, SubscriptionKind
from bot.pbx.relay.account import RelayAccount
from sandbox.relay import Audio, RelayPbx, silent_wav
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import ADMIN, FAST, GROUP, REP_ANNA, drained

SECRET = "asterisk-relay-secret-42"
GROUPS = {"5": ["101", "102"], "7": ["103"]}  # as the README's configuration
RELAY = {"id": "asterisk", "provider": "relay", "secret": SECRET, "groups": GROUPS}
BORIS = 2002
MARIA = 2003  # manager
CLIENT = "79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"
ANNA_REFUSED = "Команда /call недоступна: ваша АТС (asterisk) этого не позволяет."
BORIS_REFUSED = "/call is not available: your PBX (asterisk) does not offer it."


@dataclass
class Company:
    app: App
    pbx: RelayPbx


@pytest_asyncio.fixture
async def company(
    emulator: TelegramEmulator, make_settings: Callable[..., Settings], redis: Redis
) -> AsyncIterator[Company]:
    """Anna (101), Boris (102) and Maria (103, manager) on an Asterisk pushing the relay format;
    the Sales group follows missed calls, summaries and recordings."""
    emulator.add_user(BORIS, "Boris", username="boris", language_code="en")
    emulator.add_user(MARIA, "Maria", username="maria", language_code="en")
    settings = make_settings(
        bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        admin_ids=[ADMIN],
        accounts=[RELAY],
    )
    async with running(settings, web_role=True, worker_role=True, tuning=FAST) as app:
        for person in (REP_ANNA, BORIS, MARIA):
            emulator.send_text(person, "/start")
            await emulator.wait_for_message(person)
        await app.access.link("asterisk", "101", REP_ANNA, Role.REP)
        await app.access.link("asterisk", "102", BORIS, Role.REP)
        await app.access.link("asterisk", "103", MARIA, Role.MANAGER)
        for kind in (
            SubscriptionKind.MISSED,
            SubscriptionKind.SUMMARY,
            SubscriptionKind.RECORDINGS,
        ):
            await app.repos.subscriptions.subscribe(GROUP, "asterisk", kind)
        emulator.add_bot_to_group(GROUP, ADMIN)
        async with RelayPbx(f"{app.web_url}/pbx/asterisk/calls/{SECRET}") as pbx:
            yield Company(app, pbx)


def _calls(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    """The bot's messages about calls (after its answer to /start)."""
    return [m for m in emulator.bot_messages(chat) if "pbxgram" not in m.text]


def _alerts(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    """Missed-call alerts (their buttons are the missed-call ones, not a card's)."""
    return [
        m
        for m in emulator.bot_messages(chat)
        if any((b.callback_data or "").startswith("ms:") for row in m.buttons for b in row)
    ]


async def test_incoming_call_shows_a_card_to_the_ringing_people(
    emulator: TelegramEmulator, company: Company
) -> None:
    created = await company.pbx.create_call(
        CLIENT, pbx_call_id="1714557600.7", pbx_user_ids=["101"]
    )
    assert created.data["user_id"] == REP_ANNA
    assert created.data["pbx_user_id"] == "101"

    card = await emulator.wait_for_message(REP_ANNA, lambda m: "Входящий звонок" in m.text)
    assert card.text == f"📞 Входящий звонок\n{CLIENT_SHOWN}"
    assert card.buttons == []
    await drained(company.app)
    assert _calls(emulator, BORIS) == []


async def test_ring_group_answered_elsewhere_is_not_missed_and_the_recording_arrives(
    emulator: TelegramEmulator, company: Company
) -> None:
    wav = silent_wav(seconds=3)
    await company.pbx.play_inbound(
        CLIENT,
        ring=["101", "102"],
        answered_by="102",
        recording=Audio("1714557600.8.wav", wav, "audio/x-wav"),
    )
    await drained(company.app)

    [anna_card] = _calls(emulator, REP_ANNA)
    assert anna_card.text == f"👥 Ответил(а) Boris\n{CLIENT_SHOWN}"
    assert anna_card.edited
    [boris_card, recording] = _calls(emulator, BORIS)
    assert boris_card.text.startswith(f"✅ Call ended\n{CLIENT_SHOWN}\nTalk time: 0:0")
    assert recording.file is not None
    assert recording.file["kind"] == "audio"
    assert recording.file["size"] == len(wav)
    assert recording.file["name"].endswith(".wav")
    assert recording.reply_to == boris_card.message_id
    for chat in (REP_ANNA, BORIS, MARIA, GROUP):
        assert _alerts(emulator, chat) == [], emulator.describe(chat)
    [summary, group_audio] = _calls(emulator, GROUP)
    assert summary.text.startswith("⬇️ Входящий звонок"), emulator.describe(GROUP)
    assert group_audio.file is not None
    assert (group_audio.file["kind"], group_audio.file["size"]) == ("audio", len(wav))
    assert group_audio.reply_to == summary.message_id


async def test_nobody_answers_a_ring_group_and_everyone_concerned_is_alerted(
    emulator: TelegramEmulator, company: Company
) -> None:
    await company.pbx.play_inbound(CLIENT, ring=["101", "102"], final="canceled")
    await drained(company.app)

    for chat in (REP_ANNA, BORIS, MARIA, GROUP):
        [alert] = _alerts(emulator, chat)
        assert CLIENT_SHOWN in alert.text
    [boris_alert] = _alerts(emulator, BORIS)
    assert boris_alert.text.startswith("❌ Missed call\n")
    assert "It rang: Anna, Boris" in boris_alert.text
    boris_card = next(m for m in _calls(emulator, BORIS) if m not in _alerts(emulator, BORIS))
    assert boris_card.text == f"❌ Missed call\n{CLIENT_SHOWN}"
    assert [b.text for b in boris_card.buttons[0]] == ["📞 Call back"]  # then the outcome tags


async def test_call_back_and_call_are_refused_in_words_naming_the_pbx(
    emulator: TelegramEmulator, company: Company
) -> None:
    await company.pbx.play_inbound(CLIENT, ring=["101"], final="missed")
    await drained(company.app)
    card = next(m for m in _calls(emulator, REP_ANNA) if m not in _alerts(emulator, REP_ANNA))
    [alert] = _alerts(emulator, REP_ANNA)

    for message in (card, alert):
        data = message.find_button("Перезвонить").callback_data
        assert data is not None
        pressed = emulator.press_button(REP_ANNA, REP_ANNA, message.message_id, data)
        answer = await emulator.wait_for_callback_answer(pressed)
        assert answer.get("text") == ANNA_REFUSED
        assert answer.get("show_alert") is True

    emulator.send_text(BORIS, f"/call {CLIENT_SHOWN}")
    await emulator.wait_for_message(BORIS, lambda m: m.text == BORIS_REFUSED)


async def test_other_capabilities_are_refused_in_words(
    emulator: TelegramEmulator, company: Company
) -> None:
    emulator.send_text(MARIA, "/balance")  # a manager's command
    refused = "/balance is not available: your PBX (asterisk) does not offer it."
    await emulator.wait_for_message(MARIA, lambda m: m.text == refused)
    emulator.send_text(BORIS, f"/sms {CLIENT} Hello")
    await emulator.wait_for_message(
        BORIS, lambda m: m.text == "/sms is not available: your PBX (asterisk) does not offer it."
    )


async def test_the_readme_example_as_curl_sends_it(
    emulator: TelegramEmulator, company: Company
) -> None:
    """The three requests of the README's curl example, field for field."""
    created = await company.pbx.post(
        {
            "action": "create_call",
            "direction": "incoming",
            "phone": "+79001234567",
            "call_status": "ringing",
            "pbx_call_id": "1714557600.42",
            "pbx_user_ids": ["101", "102"],
            "comment": "from Asterisk",
        }
    )
    assert created.status == 200
    talking = await company.pbx.post(
        {
            "action": "update_call",
            "pbx_call_id": "1714557600.42",
            "call_status": "in-progress",
            "pbx_user_id": "101",
        }
    )
    assert talking.data["user_id"] == REP_ANNA
    wav = silent_wav(seconds=2)
    ended = await company.pbx.post(
        {"action": "update_call", "call_id": created.data["call_id"], "call_status": "answered"},
        audio=Audio("1714557600.42.wav", wav, "audio/x-wav"),
    )
    assert str(ended.data["audio_record"]).startswith(f"{created.data['call_id']}-")
    assert ended.json == {
        "data": {
            "call_id": created.data["call_id"],
            "pbx_call_id": "1714557600.42",
            "user_id": REP_ANNA,
            "pbx_user_id": "101",
            "call_status": "answered",
            "audio_record": ended.data["audio_record"],
            "ticket_id": None,
        }
    }
    await drained(company.app)
    [anna_card, recording] = _calls(emulator, REP_ANNA)
    assert anna_card.text.startswith("✅ Звонок завершён\n+7 900 123-45-67")
    assert recording.file is not None and recording.file["size"] == len(wav)
    [boris_card] = _calls(emulator, BORIS)
    assert boris_card.text == f"👥 Answered by Anna\n{CLIENT_SHOWN}\n💬 Comment: from Asterisk"


async def test_group_ids_show_the_card_to_the_group_only(
    emulator: TelegramEmulator, company: Company
) -> None:
    """Doc lines 32 and 76-78: ``group_ids[]`` chooses who is shown the card; group 5 is
    Anna and Boris (101, 102) in the account's ``groups``, so Maria (103) sees nothing."""
    await company.pbx.play_inbound(CLIENT, groups=[5], final="missed")
    await drained(company.app)

    anna = [m for m in _calls(emulator, REP_ANNA) if m not in _alerts(emulator, REP_ANNA)]
    boris = [m for m in _calls(emulator, BORIS) if m not in _alerts(emulator, BORIS)]
    assert [m.text for m in anna] == [f"❌ Пропущенный звонок\n{CLIENT_SHOWN}"]
    assert [m.text for m in boris] == [f"❌ Missed call\n{CLIENT_SHOWN}"]
    assert "It rang: Anna, Boris" in _alerts(emulator, BORIS)[0].text
    assert [m for m in _calls(emulator, MARIA) if m not in _alerts(emulator, MARIA)] == []


async def test_doc_outgoing_example_goes_to_everyone_linked(
    emulator: TelegramEmulator, company: Company
) -> None:
    """Doc lines 53 and 95 (the outgoing create_call, then update_call with its comment) and
    line 78: with no target, everyone with telephony access has the call."""
    created = await company.pbx.post(
        {
            "action": "create_call",
            "direction": "outgoing",
            "phone": "777777777",
            "call_status": "ringing",
            "comment": "start",
        }
    )
    assert created.data["user_id"] is None  # three people: nobody is assigned
    ended = await company.pbx.post(
        {
            "action": "update_call",
            "call_id": created.data["call_id"],
            "call_status": "canceled",
            "comment": "missed",
        }
    )
    assert ended.data["call_status"] == "canceled"
    await drained(company.app)

    [summary] = _calls(emulator, GROUP)
    assert summary.text.startswith("⬆️ Исходящий звонок")
    assert "Сотрудник: —" in summary.text  # it went to three people: whose it was, unknown
    assert summary.text.endswith("Не отвечен\n💬 Комментарий: missed")
    for person in (REP_ANNA, BORIS, MARIA):
        emulator.send_text(person, "/history")
        history = await emulator.wait_for_message(person, lambda m: m.text.startswith("📒"))
        assert "777777777" in history.text, emulator.describe(person)


async def test_comment_on_cards_and_summary_is_escaped_and_follows_updates(
    emulator: TelegramEmulator, company: Company
) -> None:
    """Doc lines 34, 48 and 90: ``comment`` comes with create_call and update_call. The
    latest one is on every card (ru for Anna, en for Boris) and the summary, as text."""
    created = await company.pbx.create_call(
        CLIENT, pbx_call_id="c1", pbx_user_ids=["101", "102"], comment="<b>VIP</b> & co"
    )
    card = await emulator.wait_for_message(BORIS, lambda m: "Comment" in m.text)
    assert card.text == f"📞 Incoming call\n{CLIENT_SHOWN}\n💬 Comment: <b>VIP</b> & co"
    assert card.html is not None and "💬 Comment: &lt;b&gt;VIP&lt;/b&gt; &amp; co" in card.html

    await company.pbx.update_call("in-progress", pbx_call_id="c1", pbx_user_id="101")
    await company.pbx.update_call("answered", call_id=created.data["call_id"])
    late = await company.pbx.update_call(
        "answered", call_id=created.data["call_id"], comment="wants a <i>quote</i>"
    )
    assert late.status == 200
    await drained(company.app)
    for person in (REP_ANNA, BORIS):  # the cards' last edit may still be on its way
        await emulator.wait_for_message(person, lambda m: "quote" in m.text)

    [anna_card] = _calls(emulator, REP_ANNA)
    assert anna_card.text.startswith(f"✅ Звонок завершён\n{CLIENT_SHOWN}\n")
    assert "\n💬 Комментарий: wants a <i>quote</i>\nРазговор: 0:0" in anna_card.text
    [boris_card] = _calls(emulator, BORIS)
    assert boris_card.text == (
        f"👥 Answered by Anna\n{CLIENT_SHOWN}\n💬 Comment: wants a <i>quote</i>"
    )
    [summary] = _calls(emulator, GROUP)
    assert summary.text.endswith("\n💬 Комментарий: wants a <i>quote</i>")
    assert summary.html is not None and "wants a &lt;i&gt;quote&lt;/i&gt;" in summary.html


# the README's relay section -------------------------------------------------------------
README = Path(__file__).resolve().parents[2] / "README.md"
README_URL = "https://bot.example.com/pbx/asterisk/calls/3f9c1e7a5b2d48c6a0e4"
README_ANNA = 123456789  # her Telegram id in the README's examples


def _relay_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### Any other PBX (Asterisk, FreePBX, …): the relay format")
    return text[start : text.index("\n### ", start + 1)]


def _blocks(section: str, language: str) -> list[str]:
    """The code blocks written in ``language`` ("" for plain ones)."""
    found = re.findall(r"```(\w*)\n(.*?)```", section, flags=re.DOTALL)
    return [text for lang, text in found if lang == language]


def _readme_script() -> list[tuple[str, Any]]:
    """The curl commands of the README's example, each with the answer it shows (or None)."""
    [script] = [block for block in _blocks(_relay_section(), "sh") if "URL=" in block]
    steps: list[tuple[str, Any]] = []
    for line in script.replace("\\\n", " ").splitlines():
        if line.startswith("curl "):
            steps.append((line.replace('"$URL"', README_URL), None))
        elif line.startswith("# {"):
            steps[-1] = (steps[-1][0], json.loads(line[2:]))
        elif line.startswith("URL="):
            assert line == f"URL={README_URL}"
    return steps


def test_the_readme_configuration_prints_what_the_readme_shows() -> None:
    """The README's account, its ``check-config --reveal`` lines and its curl URL agree."""
    section = _relay_section()
    toml_block = next(block for block in _blocks(section, "toml") if "relay" in block)
    [settings] = tomllib.loads(toml_block)["accounts"]
    account = RelayAccount.model_validate(settings)
    assert account.groups == GROUPS
    [shown] = [block for block in _blocks(section, "") if block.startswith("[asterisk]")]
    lines = account.setup_lines("https://bot.example.com/pbx/asterisk", reveal=True)
    assert shown.splitlines() == ["[asterisk] provider relay", *(f"  {x}" for x in lines)]
    assert f"calls/{account.secret.get_secret_value()}" in README_URL
    assert [command for command, _ in _readme_script()]  # the example has commands


async def test_the_readme_curl_examples_answer_what_the_readme_shows(
    emulator: TelegramEmulator, company: Company
) -> None:
    """Every curl command of the README's relay example, sent as curl sends it, to this
    company (Anna 101, Boris 102, Maria 103; groups as the README configures them)."""
    wav = silent_wav(seconds=2)
    for command, shown in _readme_script():
        answer = await company.pbx.post_curl(
            command.replace(README_URL, company.pbx.url),
            files={"/var/spool/asterisk/monitor/1714557600.42.wav": wav},
        )
        if shown is None:
            assert answer.status == 200, (command, answer)
            continue
        if "error" in shown:
            assert (answer.status, answer.json) == (400, shown), command
            continue
        expected = dict(shown["data"])
        if expected["user_id"] == README_ANNA:
            expected["user_id"] = REP_ANNA
        if expected["audio_record"] is not None:  # the id ends with the file's own hash
            assert re.fullmatch(rf"{expected['call_id']}-[0-9a-f]{{16}}", expected["audio_record"])
            expected["audio_record"] = answer.data["audio_record"]
            assert str(answer.data["audio_record"]).startswith(f"{expected['call_id']}-")
        assert answer.json == {"data": expected}, command
    await drained(company.app)
    anna_card = _calls(emulator, REP_ANNA)[0]
    assert "\n💬 Комментарий: wants a quote\nРазговор: 0:0" in anna_card.text
    [recording] = [m for m in _calls(emulator, REP_ANNA) if m.file is not None]
    assert (recording.file or {})["size"] == len(wav)
    assert recording.reply_to == anna_card.message_id
