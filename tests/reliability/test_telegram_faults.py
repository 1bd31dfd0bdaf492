"""A flaky Telegram loses nothing and doubles nothing.

The Telegram emulator answers a random share of the bot's message calls with 429 (a
``retry_after`` of 1-3 s), another share with a 5xx, and drops the connection of a third
share, while a burst of incoming calls goes through the real app (MANGO simulator ->
webhooks -> workers -> outbox -> sender). Afterwards every person and the group chat must
see each expected message exactly once, in its final state, and every message must be the
one message of its outbox slot.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis

from bot.app import App, Tuning
from bot.domain import Role, SubscriptionKind
from bot.phones import display
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, RandomFaults, TelegramEmulator
from tests.e2e.conftest import FAST, drained
from tests.reliability.conftest import (
    FAULTS_GROUPS,
    FAULTS_LINE,
    StartApp,
    faults_extensions,
)
from tests.reliability.figures import record

CALLS = 48  # incoming calls in the burst; every other one is missed
GROUP_CHAT = -100700  # subscribed to missed calls and summaries
FIRST_REP = 2100  # extension 1NN is linked to Telegram user 2100 + NN
MESSAGE_METHODS = frozenset({"sendMessage", "editMessageText"})
TOO_MANY, SERVER_ERROR, DROP = 0.10, 0.05, 0.05  # shares of the message calls that fail
SEED = 20261124
# Quick retries a little quicker than in production: a chat's messages go one at a time, in
# order, so each retry's pause holds up the rest of its chat.
FLAKY = replace(FAST, send_backoff=(0.1, 0.2, 0.4, 0.8, 1.6))
DRAIN_PATIENCE = 240.0  # generous: other test runs may share the machine's two cores

LINE_SHOWN = display(FAULTS_LINE)
CLOCK = re.compile(r"\b\d\d:\d\d\b")


def rep_of(extension: str) -> int:
    return FIRST_REP + int(extension) - 100


def client_of(index: int) -> str:
    return f"7900555{index:04d}"


def group_of(index: int) -> int:
    return index % FAULTS_GROUPS + 1


def answered_by(index: int) -> str | None:
    """Even calls are answered by the second employee of the ring group, odd ones missed."""
    return None if index % 2 else faults_extensions(group_of(index))[1]


Seen = tuple[int, str, tuple[str, ...]]  # chat, text (clock masked), button texts
# A finished call's card offers "Call back" and the default outcome tags.
CARD_BUTTONS = ("📞 Перезвонить", "продажа", "вопрос", "жалоба", "спам")


def expected_messages(index: int, *, missed: bool | None = None) -> list[Seen]:
    """What each chat must end up showing about call ``index``, once each (answered as
    :func:`answered_by` says, unless ``missed`` says otherwise)."""
    group = group_of(index)
    first, second = faults_extensions(group)
    client = display(client_of(index))
    where = f"{client}\nЛиния: {LINE_SHOWN}\nГруппа: Group {group}"
    taker = answered_by(index) if missed is None else None if missed else second
    if taker is not None:
        return [
            (rep_of(first), f"👥 Ответил(а) Employee {taker}\n{where}", ()),
            (rep_of(second), f"✅ Звонок завершён\n{where}\nРазговор: 0:30", CARD_BUTTONS),
            (
                GROUP_CHAT,
                f"⬇️ Входящий звонок · HH:MM\nКлиент: {client}\n"
                f"Сотрудник: Employee {taker}\nРазговор: 0:30",
                (),
            ),
        ]
    alert = (
        f"❌ Пропущенный звонок\n{client} в HH:MM, линия {LINE_SHOWN}\n"
        f"Звонок шёл на: Employee {first}, Employee {second}"
    )
    alert_buttons = ("📞 Перезвонить", "🙋 Беру", "🚫 Перезванивать не нужно")
    card = (f"❌ Пропущенный звонок\n{where}", CARD_BUTTONS)
    return [
        (rep_of(first), *card),
        (rep_of(second), *card),
        (rep_of(first), alert, alert_buttons),
        (rep_of(second), alert, alert_buttons),
        # a group also gets the managers' buttons (a press there is checked)
        (
            GROUP_CHAT,
            alert,
            (*alert_buttons[:2], "👥 Перезвонит группа", alert_buttons[2], "🚫 Спам"),
        ),
        (
            GROUP_CHAT,
            f"⬇️ Входящий звонок · HH:MM\nКлиент: {client}\n"
            f"Звонок шёл на: Employee {first}, Employee {second}\nНе отвечен",
            (),
        ),
    ]


def seen(message: ChatMessage) -> Seen:
    return (message.chat_id, CLOCK.sub("HH:MM", message.text), tuple(message.button_texts()))


def deliveries(app: App, outcome: str) -> int:
    """The sender's count of deliveries that ended with ``outcome`` (e.g. "retry", "429")."""
    value = app.metrics.registry.get_sample_value(
        "pbxgram_telegram_deliveries_total", {"outcome": outcome}
    )
    return int(value or 0)


async def slot_messages(app: App) -> Counter[tuple[int, int]]:
    """(chat, message id) of every outbox slot that was delivered, counted."""
    found: Counter[tuple[int, int]] = Counter()
    async for key in app.redis.scan_iter(match=app.keys.slot("*"), count=500):
        if await app.redis.type(key) != "hash":
            continue
        chat_id, message_id = await app.redis.hmget(key, ["chat_id", "message_id"])
        if chat_id and message_id:
            found[(int(chat_id), int(message_id))] += 1
    return found


async def company(
    emulator: TelegramEmulator, start_app: StartApp, tuning: Tuning = FAST, **overrides: Any
) -> App:
    """Eight reps in four ring groups, and a group chat for missed calls and summaries."""
    app = await start_app(tuning, **overrides)
    for group in range(1, FAULTS_GROUPS + 1):
        for extension in faults_extensions(group):
            emulator.add_user(rep_of(extension), f"Rep {extension}", language_code="ru")
            await app.access.link("main", extension, rep_of(extension), Role.REP)
    emulator.add_group(GROUP_CHAT, "Sales")
    await app.repos.subscriptions.subscribe(GROUP_CHAT, "main", SubscriptionKind.MISSED)
    await app.repos.subscriptions.subscribe(GROUP_CHAT, "main", SubscriptionKind.SUMMARY)
    emulator.add_bot_to_group(GROUP_CHAT, rep_of("101"))
    await emulator.wait_for_message(GROUP_CHAT)  # the bot's hello
    await drained(app)
    return app


async def test_flaky_telegram_loses_and_doubles_nothing(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    start_app: StartApp,
    redis: Redis,
) -> None:
    emulator, mango = emulator, mango
    app = await company(emulator, start_app, FLAKY)
    chats = [GROUP_CHAT] + [
        rep_of(extension)
        for group in range(1, FAULTS_GROUPS + 1)
        for extension in faults_extensions(group)
    ]
    before = {chat: len(emulator.bot_messages(chat)) for chat in chats}
    requests_before = len(emulator.requests)
    faults = RandomFaults(
        too_many=TOO_MANY,
        server_error=SERVER_ERROR,
        drop=DROP,
        retry_after=(1, 3),
        methods=MESSAGE_METHODS,
        seed=SEED,
    )
    emulator.inject_random_faults(faults)

    started = time.monotonic()
    await asyncio.gather(
        *(
            mango.play_inbound(
                FAULTS_LINE,
                client_of(index),
                group_id=group_of(index),
                ring=faults_extensions(group_of(index)),
                answered_by=answered_by(index),
                record=False,
            )
            for index in range(CALLS)
        )
    )
    await mango.wait_idle()
    await drained(app, patience=DRAIN_PATIENCE)
    elapsed = time.monotonic() - started
    emulator.inject_random_faults(None)

    assert {status for _, _, status in mango.posted} == {200}
    shown = [m for chat in chats for m in emulator.bot_messages(chat)[before[chat] :]]
    expected = Counter(line for index in range(CALLS) for line in expected_messages(index))
    actual = Counter(seen(m) for m in shown)
    assert actual == expected, {
        "missing": expected - actual,
        "extra or doubled": actual - expected,
    }
    # every message is the one message of its slot: no slot was sent twice
    assert await slot_messages(app) == Counter((m.chat_id, m.message_id) for m in shown)

    calls = [name for name, _ in emulator.requests[requests_before:] if name in MESSAGE_METHODS]
    retried = sum(deliveries(app, outcome) for outcome in ("retry", "429"))
    assert faults.injected["429"] > 0 and faults.injected["5xx"] > 0 and faults.injected["drop"] > 0
    figures: dict[str, Any] = {
        "calls": CALLS,
        "messages": len(shown),
        "message calls to Telegram": len(calls),
        "429 injected": faults.injected["429"],
        "5xx injected": faults.injected["5xx"],
        "connections dropped": faults.injected["drop"],
        "retries by the sender": retried,
        "lost": 0,
        "doubled": 0,
        "time": f"{elapsed:.1f} s",
    }
    record(
        "Telegram answering 429, 5xx and dropping connections",
        f"{CALLS} incoming calls in a burst; of the bot's sendMessage/editMessageText calls "
        f"{TOO_MANY:.0%} answered 429 (retry_after 1-3 s), {SERVER_ERROR:.0%} a 5xx, "
        f"{DROP:.0%} had their connection dropped",
        "every card (final state), missed alert and group summary shown exactly once; "
        "one Telegram message per outbox slot",
        figures,
    )
