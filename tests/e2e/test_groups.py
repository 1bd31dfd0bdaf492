"""Group chats: welcome on join, subscriptions for admins only."""

from __future__ import annotations

from bot.app import App
from bot.domain import SubscriptionKind
from sandbox.telegram import TelegramEmulator
from tests.e2e.conftest import ADMIN, GROUP, STRANGER


async def test_subscribe_allowed_for_admin_only(emulator: TelegramEmulator, app: App) -> None:
    emulator.add_bot_to_group(GROUP, ADMIN)
    welcome = await emulator.wait_for_message(GROUP)
    assert "/subscribe missed|summary|recordings|digest" in welcome.text

    emulator.send_text(STRANGER, "/subscribe missed", chat_id=GROUP)
    refusal = await emulator.wait_for_message(GROUP, lambda m: "needs the" in m.text)
    assert "admin" in refusal.text
    assert await app.repos.subscriptions.chats("main", SubscriptionKind.MISSED) == []

    emulator.send_text(ADMIN, "/subscribe missed", chat_id=GROUP)
    await emulator.wait_for_message(
        GROUP, lambda m: m.text == "Done: this chat is subscribed to missed (PBX “main”)."
    )
    assert await app.repos.subscriptions.chats("main", SubscriptionKind.MISSED) == [GROUP]

    emulator.send_text(STRANGER, "/subscriptions", chat_id=GROUP)
    listing = await emulator.wait_for_message(GROUP, lambda m: "This chat receives" in m.text)
    assert "• missed (PBX “main”)" in listing.text

    emulator.send_text(ADMIN, "/unsubscribe missed main", chat_id=GROUP)
    await emulator.wait_for_message(GROUP, lambda m: "no longer receives missed" in m.text)
    assert await app.repos.subscriptions.chats("main", SubscriptionKind.MISSED) == []


async def test_subscribe_bad_kind_gets_usage(emulator: TelegramEmulator, app: App) -> None:
    emulator.add_bot_to_group(GROUP, ADMIN)
    emulator.send_text(ADMIN, "/subscribe everything", chat_id=GROUP)
    await emulator.wait_for_message(GROUP, lambda m: "To subscribe this chat" in m.text)
