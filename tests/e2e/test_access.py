"""Getting in: /start, invite links, phone-contact proof and admin approval."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.app import App
from bot.domain import Role
from sandbox.telegram import TelegramEmulator
from tests.e2e.conftest import ADMIN, REP_ANNA, STRANGER


async def _invite(emulator: TelegramEmulator, command: str) -> str:
    emulator.send_text(ADMIN, command)
    reply = await emulator.wait_for_message(ADMIN, lambda m: "t.me/" in m.text)
    match = re.search(r"https://t\.me/pbxgram_bot\?start=([\w-]+)", reply.text)
    assert match is not None, reply.text
    return match.group(1)


async def test_start_explains_and_offers_both_ways_in(emulator: TelegramEmulator, app: App) -> None:
    emulator.send_text(STRANGER, "/start")

    reply = await emulator.wait_for_message(STRANGER)
    assert "I am pbxgram" in reply.text
    assert "invite link" in reply.text
    assert reply.reply_keyboard is not None
    button = reply.reply_keyboard[0][0]
    assert button["text"] == "📱 Share my number"
    assert button["request_contact"] is True


async def test_invite_link_works_once(emulator: TelegramEmulator, app: App) -> None:
    code = await _invite(emulator, "/invite 101 manager")

    emulator.send_text(REP_ANNA, f"/start {code}")
    welcome = await emulator.wait_for_message(REP_ANNA)
    assert "Вы подключены как внутренний номер 101" in welcome.text
    assert "роль: руководитель" in welcome.text
    await emulator.wait_for_message(ADMIN, lambda m: "Anna (@anna) accepted the invite" in m.text)
    links = await app.repos.links.of_user(REP_ANNA)
    assert [(link.account, link.extension) for link in links] == [("main", "101")]
    user = await app.repos.users.get(REP_ANNA)
    assert user is not None and user.role is Role.MANAGER

    emulator.send_text(STRANGER, f"/start {code}")
    refused = await emulator.wait_for_message(STRANGER)
    assert "This invite link is not valid" in refused.text
    assert await app.repos.links.of_user(STRANGER) == []


async def test_someone_elses_contact_is_refused(emulator: TelegramEmulator, app: App) -> None:
    emulator.share_contact(STRANGER, "+79991112233", contact_user_id=REP_ANNA)

    reply = await emulator.wait_for_message(STRANGER)
    assert "share your own number" in reply.text
    assert await app.repos.links.of_user(STRANGER) == []
    assert emulator.bot_messages(ADMIN) == []


async def _admin_has_started(emulator: TelegramEmulator) -> None:
    emulator.send_text(ADMIN, "/start")
    await emulator.wait_for_message(ADMIN)


async def test_contact_proof_then_admin_approves(emulator: TelegramEmulator, app: App) -> None:
    await _admin_has_started(emulator)
    emulator.share_contact(REP_ANNA, "+7 (999) 111-22-33", contact_user_id=REP_ANNA)

    pending = await emulator.wait_for_message(REP_ANNA)
    assert "Запрос отправлен администраторам" in pending.text
    request = await emulator.wait_for_message(ADMIN, lambda m: "Access request" in m.text)
    assert "Anna (@anna)" in request.text
    assert "+7 999 111-22-33" in request.text
    assert "Anna Petrova, extension 101" in request.text
    assert request.button_texts() == ["✅ Link", "❌ Reject"]

    approve = request.find_button("Link")
    assert approve.callback_data is not None
    query_id = emulator.press_button(ADMIN, ADMIN, request.message_id, approve.callback_data)

    granted = await emulator.wait_for_message(REP_ANNA, lambda m: "подтвердил доступ" in m.text)
    assert "внутренний номер 101" in granted.text
    decided = await emulator.wait_for_message(ADMIN, lambda m: "Linked by Admin" in m.text)
    assert decided.message_id == request.message_id
    assert decided.buttons == []
    answer = await emulator.wait_for_callback_answer(query_id)
    assert answer.get("text") == "Linked."
    links = await app.repos.links.of_user(REP_ANNA)
    assert [(link.account, link.extension) for link in links] == [("main", "101")]


async def test_admin_rejects(emulator: TelegramEmulator, app: App) -> None:
    await _admin_has_started(emulator)
    emulator.add_user(2002, "Boris", language_code="en")
    emulator.share_contact(2002, "89992223344", contact_user_id=2002)
    request = await emulator.wait_for_message(ADMIN, lambda m: "Access request" in m.text)
    reject = request.find_button("Reject")
    assert reject.callback_data is not None

    emulator.press_button(ADMIN, ADMIN, request.message_id, reject.callback_data)

    rejected = await emulator.wait_for_message(2002, lambda m: "rejected" in m.text)
    assert "extension 102" in rejected.text
    await emulator.wait_for_message(ADMIN, lambda m: "Rejected by Admin" in m.text)
    assert await app.repos.links.of_user(2002) == []


async def test_auto_link_by_phone(
    emulator: TelegramEmulator, start_app: Callable[..., Any]
) -> None:
    await start_app(account={"auto_link_by_phone": True})
    emulator.share_contact(REP_ANNA, "+79991112233", contact_user_id=REP_ANNA)

    reply = await emulator.wait_for_message(REP_ANNA)
    assert "Номер подтверждён" in reply.text
    assert emulator.bot_messages(ADMIN) == []


async def test_unknown_number_is_told_to_ask_for_invite(
    emulator: TelegramEmulator, app: App
) -> None:
    emulator.share_contact(STRANGER, "+7 912 000-00-00", contact_user_id=STRANGER)

    reply = await emulator.wait_for_message(STRANGER)
    assert "+7 912 000-00-00 is not in the PBX employee directory" in reply.text
