"""``/forget``: after calls with a client (answered, missed with a note, a phonebook
entry, a message still waiting to go out), an admin forgets the number and nothing of it
is left anywhere in Redis; people who are not admins are refused."""

from __future__ import annotations

import time

import pytest_asyncio
from redis.asyncio import Redis

from bot.app import App
from bot.domain import SubscriptionKind
from bot.services.audit import AuditLog
from bot.services.missed_calls import missed_ref
from bot.services.phonebook import Phonebook, PhonebookEntry
from bot.telegram.outbox import OutMessage, Priority
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.conftest import StartApp
from tests.e2e.conftest import ADMIN, GROUP, LINE, MARIA, drained, staff
from tests.services.test_forget import FORMS, leftovers

CLIENT = "79001234567"


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp) -> App:
    """Staff linked, the group following missed calls, the client in the phonebook, and
    two calls with the client: one answered, one missed with Maria's note on its alert."""
    app = await start_app()
    await staff(emulator, app)
    await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.MISSED)
    emulator.add_bot_to_group(GROUP, ADMIN)
    await Phonebook(app.redis, app.keys).replace({"+" + CLIENT: PhonebookEntry(name="Ivan")})
    await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by="101")
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(app)
    alert = [m for m in emulator.bot_messages(MARIA) if "Ivan" in m.text][-1]
    emulator.send_text(MARIA, "Call him back about the quote", reply_to=alert.message_id)
    await emulator.wait_for_message(MARIA, lambda m: m.text.startswith("📝"), timeout=10)
    await drained(app)
    # A message about the client still waiting to go out (a retry an hour from now).
    slot = app.outbox.slot_key("later:1")
    message = OutMessage(chat_id=MARIA, text="Ring +7 900 123-45-67 again")
    await app.redis.hset(
        slot,
        mapping={
            "content": message.model_dump_json(),
            "priority": int(Priority.SUMMARY),
            "chat": MARIA,
            "version": 1,
        },
    )
    await app.redis.zadd(app.keys.outbox_delayed(), {slot: time.time() + 3600})
    return app


async def ask(emulator: TelegramEmulator, user: int, text: str) -> ChatMessage:
    before = max((m.message_id for m in emulator.transcript(user)), default=0)
    emulator.send_text(user, text)
    return await emulator.wait_for_message(
        user, lambda m: m.message_id > before and m.from_bot, timeout=10
    )


async def test_an_admin_forgets_a_number_and_nothing_of_it_is_left(
    emulator: TelegramEmulator, company: App, redis: Redis
) -> None:
    assert await leftovers(redis)
    question = await ask(emulator, ADMIN, "/forget 8 900 123-45-67")
    assert "+7 900 123-45-67" in question.text
    data = question.find_button("Forget").callback_data
    assert data is not None and question.find_button("Cancel")

    emulator.press_button(ADMIN, ADMIN, question.message_id, data)
    done = await emulator.wait_for_message(
        ADMIN, lambda m: m.message_id == question.message_id and "forgotten" in m.text, timeout=15
    )
    await drained(company)

    assert "calls in the call log: 2" in done.text
    assert "missed calls: 1" in done.text
    assert "notes: 1" in done.text
    assert "phonebook entries: 1" in done.text
    assert "messages not sent yet (dropped): 1" in done.text
    assert "cannot be recalled" in done.text
    assert not done.buttons
    assert await leftovers(redis) == []
    [entry] = await AuditLog(redis, company.keys).entries(action="number_forgotten")
    assert entry.actor == ADMIN
    assert not any(form in entry.model_dump_json() for form in FORMS)


async def test_cancel_deletes_nothing(
    emulator: TelegramEmulator, company: App, redis: Redis
) -> None:
    question = await ask(emulator, ADMIN, "/forget +79001234567")
    data = question.find_button("Cancel").callback_data
    assert data is not None
    emulator.press_button(ADMIN, ADMIN, question.message_id, data)
    await emulator.wait_for_message(
        ADMIN, lambda m: m.message_id == question.message_id and "Cancelled" in m.text
    )
    assert await company.call_log.recent("main", number="+" + CLIENT)


async def test_only_admins_may_forget(emulator: TelegramEmulator, company: App) -> None:
    refused = await ask(emulator, MARIA, "/forget +79001234567")
    assert "admin" in refused.text
    assert len(await company.call_log.recent("main", number="+" + CLIENT)) == 2


async def test_a_number_is_asked_for(emulator: TelegramEmulator, company: App) -> None:
    answer = await ask(emulator, ADMIN, "/forget hello")
    assert "/forget" in answer.text


async def test_the_retention_setting_is_the_ttl_of_calls_and_missed_calls(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp, redis: Redis
) -> None:
    app = await start_app(call_retention_days=3)
    await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by=None)
    await mango.wait_idle()
    await drained(app)
    [call] = await app.call_log.recent("main", number="+" + CLIENT)
    keys = app.keys
    for key in (
        keys.call_log_entry("main", call.call_id),
        keys.call_ref(call.ref),
        keys.call_log("main"),
        keys.call_log_by_number("main", "+" + CLIENT),
        keys.missed(missed_ref("main", call.call_id)),
        keys.missed_day("main", call.started_at.strftime("%Y-%m-%d")),
    ):
        assert 0 < await redis.ttl(key) <= 3 * 86400, key
