"""Who is calling: the client's name from MANGO's address book or the company's phonebook,
their personal manager, the context line of their recent calls, and their voice-menu
choice, on cards, missed alerts and summaries."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest_asyncio

from bot.app import App
from bot.domain import SubscriptionKind
from sandbox.mango import Contact, MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.cli.helpers import run_pbxgram
from tests.conftest import FAST, StartApp
from tests.e2e.conftest import BORIS, GROUP, LINE, MARIA, REP_ANNA, drained, staff
from tests.helpers import until

CLIENT = "79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"
CLOCK = re.compile(r"\b\d{2}:\d{2}\b")


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, start_app: StartApp) -> App:
    """Anna (101), Boris (102), Maria (manager); the group follows missed calls and
    summaries; the voice menu's items are named."""
    app = await start_app(account={"menu": {"1": "Sales", "2": "Support"}})
    await staff(emulator, app)
    await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.MISSED)
    await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.SUMMARY)
    emulator.add_bot_to_group(GROUP, 1000)
    return app


def calls(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    return [m for m in emulator.bot_messages(chat) if "pbxgram" not in m.text]


def alerts(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    """Missed-call alerts (cards of missed calls, with a plain call-back button, left out)."""
    return [
        m
        for m in calls(emulator, chat)
        if ("Missed call" in m.text or "Пропущенный звонок" in m.text)
        and not any((b.callback_data or "").startswith("dl:") for row in m.buttons for b in row)
    ]


async def ask(emulator: TelegramEmulator, chat: int, text: str, starts: str) -> ChatMessage:
    """Send ``text``; the bot's answer that starts with ``starts``."""
    before = max((m.message_id for m in emulator.transcript(chat)), default=0)
    emulator.send_text(chat, text)
    return await emulator.wait_for_message(
        chat, lambda m: m.message_id > before and m.text.startswith(starts), timeout=20
    )


def card_texts_sent(emulator: TelegramEmulator, chat: int) -> list[str]:
    """Every text of ``chat``'s messages as it was sent or edited, in order."""
    return [
        str(params.get("text", ""))
        for name, params in emulator.requests
        if name in ("sendMessage", "editMessageText") and str(params.get("chat_id")) == str(chat)
    ]


async def test_a_known_contact_is_named_everywhere_with_the_client_s_manager(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    boris = mango.directory.employees["102"]
    mango.add_contact(
        Contact(
            name="Ivan Kuznetsov",
            org_name="Romashka LLC",
            phones=["+7 (900) 123-45-67"],
            user_id=boris.user_id,
        )
    )
    # The call rings Anna alone; Boris is the client's personal manager.
    await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by=None)
    await mango.wait_idle()
    await drained(company)

    anna_card = calls(emulator, REP_ANNA)[0]
    assert anna_card.text.splitlines()[:2] == [
        "❌ Пропущенный звонок",
        f"Ivan Kuznetsov · Romashka LLC, {CLIENT_SHOWN}",
    ]
    assert "👤 Персональный менеджер: Boris Ivanov" in anna_card.text
    [boris_alert] = alerts(emulator, BORIS)  # never rang him: he hears as the manager
    assert f"Ivan Kuznetsov · Romashka LLC, {CLIENT_SHOWN} at " in boris_alert.text
    assert "👤 Personal manager: Boris Ivanov" in boris_alert.text
    [maria_alert] = alerts(emulator, MARIA)
    assert "Ivan Kuznetsov · Romashka LLC" in maria_alert.text
    summary = calls(emulator, GROUP)[-1]
    assert f"Клиент: Ivan Kuznetsov · Romashka LLC, {CLIENT_SHOWN}" in summary.text
    [search] = mango.commands("ab/contact/init")
    assert search == {"query": "9001234567", "limit_rows": 50, "contact_ext_fields": True}

    listed = await ask(emulator, MARIA, "/missed", "❌")
    assert f"Ivan Kuznetsov, {CLIENT_SHOWN}" in listed.text
    history = await ask(emulator, MARIA, f"/history {CLIENT}", "📒")
    assert f"Ivan Kuznetsov, {CLIENT_SHOWN}" in history.text


async def test_the_address_book_is_read_page_by_page(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    # 60 contacts whose phones contain the digits searched for; the client is the last.
    for index in range(60):
        mango.add_contact(Contact(name=f"Other {index}", phones=[f"+7 (900) 123-45-67{index:02d}"]))
    mango.add_contact(Contact(name="Ivan Kuznetsov", phones=["8 900 123 45 67"]))
    await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by="101")
    await mango.wait_idle()
    await drained(company)

    [card, *_] = calls(emulator, REP_ANNA)
    assert f"Ivan Kuznetsov, {CLIENT_SHOWN}" in card.text
    [cursor] = mango.commands("ab/contact/cursor")
    assert cursor["mode"] == "next-page-1" and cursor["cursor"]


async def test_a_slow_address_book_never_delays_the_card(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    mango.add_contact(Contact(name="Ivan Kuznetsov", phones=["+79001234567"]))
    mango.stall_next("ab/contact/init", 1.5)
    greeted = len(emulator.bot_messages(REP_ANNA))
    began = time.monotonic()
    call = asyncio.create_task(mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by="101"))
    await until(lambda: len(emulator.bot_messages(REP_ANNA)) > greeted, patience=5)
    assert time.monotonic() - began < 1.0  # the card did not wait for the name
    await call
    await mango.wait_idle()
    await drained(company)

    sent = [text for text in card_texts_sent(emulator, REP_ANNA) if "pbxgram" not in text]
    assert CLIENT_SHOWN in sent[0] and "Ivan Kuznetsov" not in sent[0]
    [card, *_] = calls(emulator, REP_ANNA)
    assert f"Ivan Kuznetsov, {CLIENT_SHOWN}" in card.text  # edited once the name came


async def test_an_address_book_that_times_out_leaves_the_number(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp
) -> None:
    app = await staff(emulator, await start_app(replace(FAST, lookup_timeout=0.3)))
    mango.add_contact(Contact(name="Ivan Kuznetsov", phones=["+79001234567"]))
    mango.stall_next("ab/contact/init", 2.0)
    await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by=None)
    await mango.wait_idle()
    await drained(app)

    card = calls(emulator, REP_ANNA)[0]
    assert card.text.splitlines()[1] == CLIENT_SHOWN
    [alert] = alerts(emulator, MARIA)
    assert f"{CLIENT_SHOWN} at " in alert.text and "Ivan" not in alert.text


async def test_an_unknown_number_is_named_after_a_phonebook_import(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App, redis_url: str, tmp_path: Path
) -> None:
    await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by="101", record=False)
    await mango.wait_idle()
    await drained(company)
    [first, *_] = calls(emulator, REP_ANNA)
    assert first.text.splitlines()[1] == CLIENT_SHOWN

    book = tmp_path / "clients.csv"
    book.write_text(
        "Телефон;Имя;Организация\n"
        "8 (900) 123-45-67;Иван Кузнецов;ООО Ромашка\n"
        "12;Bad Number;\n"
        "+7 900 765-43-21;;\n"
        "+7 900 123 45 67;Double;\n",
        encoding="utf-8",
    )
    result = run_pbxgram(
        "phonebook", "import", str(book), cwd=tmp_path, env={"REDIS_URL": redis_url}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Phonebook replaced: 1 rows imported, 3 rejected.",
        "  line 3: '12' is not a phone number",
        "  line 4: no name or organisation",
        "  line 5: the same number as line 2",
    ]

    await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by="101", record=False)
    await mango.wait_idle()
    await drained(company)
    card = calls(emulator, REP_ANNA)[-1]
    assert card.text.splitlines()[1] == f"Иван Кузнецов · ООО Ромашка, {CLIENT_SHOWN}"

    # A new import replaces the phonebook whole.
    book.write_text("phone,name\n+79007654321,Someone Else\n", encoding="utf-8")
    result = run_pbxgram(
        "phonebook", "import", str(book), cwd=tmp_path, env={"REDIS_URL": redis_url}
    )
    assert result.stdout.strip() == "Phonebook replaced: 1 rows imported, 0 rejected."
    await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by="101", record=False)
    await mango.wait_idle()
    await drained(company)
    card = calls(emulator, REP_ANNA)[-1]
    assert card.text.splitlines()[1] == CLIENT_SHOWN


async def test_the_context_line_tells_the_client_s_recent_calls(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(company)
    [first] = [m for m in calls(emulator, REP_ANNA) if CLIENT_SHOWN in m.text][:1]
    assert "🕘" not in first.text  # a first call has no past

    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="102")
    await mango.wait_idle()
    await drained(company)
    second = [m for m in calls(emulator, REP_ANNA) if "Ответил(а) Boris Ivanov" in m.text][-1]
    assert "🕘 2-й звонок за 7 дней · пропущен сегодня в HH:MM, не перезвонили" in CLOCK.sub(
        "HH:MM", second.text
    )

    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="101")
    await mango.wait_idle()
    await drained(company)
    third = [m for m in calls(emulator, BORIS) if "Answered by Anna Petrova" in m.text][-1]
    assert "🕘 3rd call in 7 days · last: talked to Boris Ivanov, today HH:MM" in CLOCK.sub(
        "HH:MM", third.text
    )


async def test_the_voice_menu_choice_is_on_the_card_and_the_alert(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], dtmf="2")
    await mango.wait_idle()
    await drained(company)

    [anna_card] = calls(emulator, REP_ANNA)[:1]
    assert "🔢 Выбор в меню: Support" in anna_card.text
    [alert] = alerts(emulator, MARIA)
    assert "🔢 Chose in the menu: Support" in alert.text

    await mango.play_inbound(LINE, "79007654321", group_id=1, ring=["101", "102"], dtmf="7")
    await mango.wait_idle()
    await drained(company)
    assert "🔢 Chose in the menu: 7" in alerts(emulator, MARIA)[-1].text  # not named: as pressed
