"""Role gates, the telephony gate, /lang, /help and the command menu."""

from __future__ import annotations

from bot.app import App
from bot.domain import Role
from sandbox.telegram import TelegramEmulator
from tests.e2e.conftest import ADMIN, REP_ANNA, STRANGER


async def test_admin_commands_refused_for_others(emulator: TelegramEmulator, app: App) -> None:
    await app.access.link("main", "101", REP_ANNA, Role.MANAGER)
    seen: set[int] = set()
    for command in ("/invite 102", "/users", "/role @stranger admin", "/unlink @anna", "/status"):
        emulator.send_text(STRANGER, command)
        refusal = await emulator.wait_for_message(STRANGER, lambda m: m.message_id not in seen)
        seen.add(refusal.message_id)
        assert refusal.text == "This command needs the “admin” role."
    assert await app.repos.links.of_user(REP_ANNA) != []
    user = await app.repos.users.get(STRANGER)
    assert user is not None and user.role is None


async def test_admin_manages_users(emulator: TelegramEmulator, app: App) -> None:
    emulator.send_text(REP_ANNA, "/start")
    await emulator.wait_for_message(REP_ANNA)
    await app.access.link("main", "101", REP_ANNA, Role.REP)

    emulator.send_text(ADMIN, "/users")
    listing = await emulator.wait_for_message(ADMIN)
    assert "Anna (@anna) (id 2001) — rep, main:101" in listing.text

    emulator.send_text(ADMIN, "/role @anna manager")
    await emulator.wait_for_message(ADMIN, lambda m: "now has the role: manager" in m.text)
    emulator.send_text(ADMIN, "/unlink 2001")
    await emulator.wait_for_message(ADMIN, lambda m: "is unlinked from: main:101" in m.text)
    await emulator.wait_for_message(
        REP_ANNA, lambda m: "отключил вас от внутреннего номера 101" in m.text
    )
    assert await app.repos.links.of_user(REP_ANNA) == []


async def test_unlinked_user_gets_polite_refusal(emulator: TelegramEmulator, app: App) -> None:
    emulator.send_text(STRANGER, "/call +79991234567")

    refusal = await emulator.wait_for_message(STRANGER)
    assert "works once you are linked to your extension" in refusal.text
    assert "invite link" in refusal.text


async def test_lang_switches_texts(emulator: TelegramEmulator, app: App) -> None:
    emulator.send_text(REP_ANNA, "/help")
    await emulator.wait_for_message(REP_ANNA, lambda m: m.text.startswith("Что я умею"))

    emulator.send_text(REP_ANNA, "/lang en")
    await emulator.wait_for_message(REP_ANNA, lambda m: m.text == "Done, I will speak English now.")
    emulator.send_text(REP_ANNA, "/help")
    english = await emulator.wait_for_message(REP_ANNA, lambda m: m.text.startswith("What I can"))
    assert "/whoami — who I am to the bot" in english.text
    assert "/invite" not in english.text

    emulator.send_text(REP_ANNA, "/lang de")
    await emulator.wait_for_message(REP_ANNA, lambda m: "Current language: en" in m.text)


async def test_help_for_admin_lists_admin_commands(emulator: TelegramEmulator, app: App) -> None:
    emulator.send_text(ADMIN, "/help")
    reply = await emulator.wait_for_message(ADMIN)
    assert "/invite — invite an employee" in reply.text
    assert "/mobilonkey" not in reply.text  # no Mobilon account here


async def test_command_menu_per_language(emulator: TelegramEmulator, app: App) -> None:
    ru = emulator.commands[("all_private_chats", "ru")]
    en = emulator.commands[("all_private_chats", "en")]
    assert {"command": "whoami", "description": "кто я для бота"} in ru
    assert {"command": "whoami", "description": "who I am to the bot"} in en
    admin_menu = [c["command"] for c in emulator.commands[(f"chat:{ADMIN}", "en")]]
    assert "invite" in admin_menu
    assert "mobilonkey" not in admin_menu
    group_menu = [c["command"] for c in emulator.commands[("all_group_chats", "en")]]
    assert group_menu == ["help", "subscriptions"]


async def test_status_shows_admins_telegram_the_queues_and_each_accounts_webhooks(
    emulator: TelegramEmulator, app: App
) -> None:
    await app.redis.set(app.keys.incident("webhooks", "main"), "1")  # as the watchdog leaves it
    # 2026-01-24 14:55 UTC is 17:55 in Moscow; the call log read at 18:00 found 2 calls
    await app.redis.set(app.keys.last_event("main"), "1769266500")
    await app.redis.set(app.keys.reconciled("main"), "1769266800 2")
    emulator.send_text(ADMIN, "/status")
    shown = await emulator.wait_for_message(ADMIN, lambda m: "status" in m.text)
    assert shown.text == (
        "pbxgram status\n"
        "Telegram: ✅ answers\n"
        "PBX events waiting: 0\n"
        "Messages waiting: 0 · for a later try: 0\n"
        "• main (MANGO OFFICE): ⚠️ webhooks keep failing verification; last event "
        "24 Jan 2026, 17:55; call log read 24 Jan 2026, 18:00, 2 recovered"
    )
    admin_menu = [c["command"] for c in emulator.commands[(f"chat:{ADMIN}", "en")]]
    assert "status" in admin_menu
