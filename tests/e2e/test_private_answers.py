"""Commands in groups answer privately: every command of the menu sent in a group, the
link for someone who never opened the private chat, and buttons in groups acting only
for the alert's own account."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import replace

import pytest_asyncio

from bot.app import App
from bot.domain import Role, SubscriptionKind
from bot.telegram.callbacks import MissedAction
from bot.telegram.menu import commands_for
from bot.telegram.private_answers import PRIVATE_COMMANDS
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.conftest import FAST, MANGO_ACCOUNT, StartApp
from tests.e2e.conftest import ADMIN, GROUP, LINE, REP_ANNA, STRANGER, drained

CLIENT = "79001234567"  # a missed call
OTHER = "79005550000"  # an answered, recorded call
SENT = "I've sent it to you privately."
LINE_SECONDS = 3.0
VERA = 4001  # linked, but has never opened a private chat with the bot
# What each command is sent with (the others alone).
SENT_AS = {
    "call": "/call 89001234567",
    "sms": "/sms 89001234567",
    "history": f"/history {CLIENT}",
    "invite": "/invite 102 rep",
    "subscribe": "/subscribe missed",
    "unsubscribe": "/unsubscribe missed",
}
STAYS = {"start", "help", "lang", "subscribe", "unsubscribe", "subscriptions"}


def _last_id(emulator: TelegramEmulator, chat: int) -> int:
    return max((m.message_id for m in emulator.transcript(chat)), default=0)


def _after(message_id: int) -> Callable[[ChatMessage], bool]:
    return lambda message: message.message_id > message_id


async def _menu(emulator: TelegramEmulator) -> set[str]:
    """Every command of the menus the bot registered (private, group and the admin's),
    and the group admins' (their /help lists them)."""
    group_admin = set(commands_for(Role.ADMIN, in_group=True))
    for _ in range(100):
        menu = {c["command"] for commands in emulator.commands.values() for c in commands}
        if menu >= PRIVATE_COMMANDS:
            return menu | group_admin
        await asyncio.sleep(0.1)
    raise AssertionError(f"the menu is incomplete: {emulator.commands}")


def _no_data(message: ChatMessage) -> None:
    digits = re.sub(r"\D", "", message.text)
    for secret in (CLIENT[1:], OTHER[1:], "1234"):  # numbers, and the balance 1234.50
        assert secret not in digits, message.text
    assert "💰" not in message.text and "📞" not in message.text, message.text
    assert message.file is None and not message.buttons, message.text


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp) -> App:
    """The admin, linked as 101, with a missed and a recorded call; the bot in the group."""
    app = await start_app(replace(FAST, group_line_seconds=LINE_SECONDS))
    emulator.send_text(ADMIN, "/start")
    await emulator.wait_for_message(ADMIN)
    await app.access.link("main", "101", ADMIN, Role.ADMIN)
    emulator.add_bot_to_group(GROUP, ADMIN)
    await emulator.wait_for_message(GROUP)
    await mango.play_inbound(LINE, CLIENT, ring=["101"])
    await mango.play_inbound(LINE, OTHER, ring=["101"], answered_by="101")
    await mango.wait_idle()
    await drained(app)
    mango.auto_play = False  # /call places the command; no call needs playing
    return app


async def test_every_menu_command_in_a_group_answers_privately(
    emulator: TelegramEmulator, company: App
) -> None:
    menu = await _menu(emulator)
    lines: list[int] = []
    for name in sorted(menu):
        text = SENT_AS.get(name, f"/{name}")
        before_group, before_private = _last_id(emulator, GROUP), _last_id(emulator, ADMIN)
        emulator.send_text(ADMIN, text, chat_id=GROUP)
        command_id = before_group + 1
        if name == "start":
            continue  # for private chats only: the group gets nothing (the next test)
        said = await emulator.wait_for_message(GROUP, _after(before_group), timeout=10)
        _no_data(said)
        if name in STAYS:
            assert said.text != SENT, name
            continue
        assert (said.text, said.reply_to) == (SENT, command_id), (name, said.text)
        lines.append(said.message_id)
        answer = await emulator.wait_for_message(ADMIN, _after(before_private))
        assert answer.reply_to is None, name
        if name == "sms":  # the form waits in the private chat
            assert answer.text.startswith("✉️ Write the text of the SMS")
            emulator.send_text(ADMIN, "Hello")
            await emulator.wait_for_message(ADMIN, _after(answer.message_id))
        if name == "balance":
            assert "💰" in answer.text
        if name == "history":
            assert "+7 900 123-45-67" in answer.text

    await drained(company)
    group = emulator.bot_messages(GROUP)
    for message in group:
        _no_data(message)
    assert len(lines) == len(PRIVATE_COMMANDS)
    emulator_failures = [f for f in emulator.failures if f[0] in ("sendMessage", "sendPhoto")]
    assert emulator_failures == []

    for _ in range(int(LINE_SECONDS + 5) * 10):  # the lines go about LINE_SECONDS later
        if not {m.message_id for m in emulator.bot_messages(GROUP)} & set(lines):
            break
        await asyncio.sleep(0.1)
    assert not {m.message_id for m in emulator.bot_messages(GROUP)} & set(lines)
    deleted = [
        p
        for method, p in emulator.requests
        if method == "deleteMessage" and int(p["chat_id"]) == GROUP
    ]
    assert sorted(int(p["message_id"]) for p in deleted) == sorted(lines)


async def test_start_and_another_bots_commands_get_no_answer_in_the_group(
    emulator: TelegramEmulator, company: App
) -> None:
    ignored = []
    for text in ("/start", "/whoami@someone_else_bot"):
        emulator.send_text(ADMIN, text, chat_id=GROUP)
        ignored.append(_last_id(emulator, GROUP))
    before = _last_id(emulator, ADMIN)
    emulator.send_text(ADMIN, "/whoami@pbxgram_bot", chat_id=GROUP)
    said = await emulator.wait_for_message(GROUP, lambda m: m.text == SENT)
    assert said.reply_to == ignored[-1] + 1
    whoami = await emulator.wait_for_message(ADMIN, _after(before))
    assert "1000" in whoami.text
    await drained(company)
    assert [m for m in emulator.bot_messages(GROUP) if m.reply_to in ignored] == []
    answers = [m.message_id for m in emulator.bot_messages(ADMIN) if m.message_id > before]
    assert answers == [whoami.message_id]


async def test_someone_who_never_opened_the_bot_gets_a_link_and_no_answer(
    emulator: TelegramEmulator, company: App
) -> None:
    emulator.add_user(VERA, "Vera", username="vera", language_code="en", started=False)
    await company.access.link("main", "102", VERA, Role.MANAGER)
    emulator.send_text(VERA, "/history", chat_id=GROUP)
    said = await emulator.wait_for_message(GROUP, lambda m: "private chat" in m.text)
    assert said.text == (
        "I answer this in a private chat, and I cannot write to you there yet. Open it here "
        "and tap Start, then send the command again: https://t.me/pbxgram_bot?start=group"
    )
    _no_data(said)
    await drained(company)
    assert emulator.transcript(VERA) == []

    emulator.send_text(VERA, "/start group")  # the link opens the chat with this
    greeting = await emulator.wait_for_message(VERA)
    assert "Extension <b>102</b>" in (greeting.html or "")
    emulator.send_text(VERA, "/history", chat_id=GROUP)
    await emulator.wait_for_message(GROUP, lambda m: m.text == SENT)
    await emulator.wait_for_message(VERA, lambda m: m.message_id > greeting.message_id)


async def test_the_line_is_in_the_requesters_language(
    emulator: TelegramEmulator, company: App
) -> None:
    await company.access.link("main", "102", REP_ANNA, Role.REP)
    emulator.send_text(REP_ANNA, "/start")
    first = await emulator.wait_for_message(REP_ANNA)
    before = _last_id(emulator, GROUP)
    emulator.send_text(REP_ANNA, "/missed", chat_id=GROUP)
    said = await emulator.wait_for_message(GROUP, lambda m: m.message_id > before)
    assert said.text == "Отправил вам в личные сообщения."
    await emulator.wait_for_message(REP_ANNA, _after(first.message_id))
    assert said in emulator.bot_messages(GROUP)  # it goes only LINE_SECONDS later


# Buttons in groups ----------------------------------------------------------------------
async def test_buttons_on_a_group_alert_refuse_another_accounts_employee(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp
) -> None:
    relay = {"id": "asterisk", "provider": "relay", "secret": "relay-secret-0123456789"}
    app = await start_app(accounts=[{**MANGO_ACCOUNT, "api_url": mango.base_url}, relay])
    for person in (REP_ANNA, STRANGER):
        emulator.send_text(person, "/start")
        await emulator.wait_for_message(person)
    await app.access.link("main", "101", REP_ANNA, Role.REP)
    await app.access.link("asterisk", "201", STRANGER, Role.MANAGER)
    await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.MISSED)
    emulator.add_bot_to_group(GROUP, ADMIN)
    await mango.play_inbound(LINE, CLIENT, ring=["101"])
    await mango.wait_idle()
    await drained(app)
    alert = await emulator.wait_for_message(GROUP, lambda m: bool(m.buttons))
    mango.auto_play = False

    for row in alert.buttons:
        for button in row:
            assert button.callback_data is not None
            query = emulator.press_button(STRANGER, GROUP, alert.message_id, button.callback_data)
            answer = await emulator.wait_for_callback_answer(query)
            assert answer.get("show_alert") is True, (button.text, answer)
            assert answer.get("text") in (
                "You are not linked to this PBX.",
                "Only managers and admins mark numbers as spam.",
            ), (button.text, answer)

    # Anna asks why no call back is needed; the reasons too are hers, not the stranger's.
    [dismiss] = [
        b.callback_data
        for row in alert.buttons
        for b in row
        if b.callback_data and b.callback_data.startswith(f"ms:{MissedAction.DISMISS.value}:")
    ]
    emulator.press_button(REP_ANNA, GROUP, alert.message_id, dismiss)
    reasons = await emulator.wait_for_message(GROUP, lambda m: m.reply_to == alert.message_id)
    spam_reason = reasons.buttons[0][0].callback_data
    assert spam_reason is not None
    query = emulator.press_button(STRANGER, GROUP, reasons.message_id, spam_reason)
    answer = await emulator.wait_for_callback_answer(query)
    assert answer.get("text") == "You are not linked to this PBX."

    await drained(app)
    [missed] = await app.notifier.missed.open_for("main", "+" + CLIENT)
    assert missed.is_open and not missed.taken_by
    assert mango.commands("commands/callback") == []
    assert await app.notifier.missed.spam_list("main") == []
