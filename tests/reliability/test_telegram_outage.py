"""Telegram unreachable for longer than the sender's quick retries loses nothing.

The Telegram emulator stops listening (connections are refused) while calls are missed;
the sender's quick retries run out long before it is back. Every card, missed alert and
group summary raised meanwhile must arrive once Telegram is back, each once, in its final
state (no stale "ringing" card followed by an edit), and nothing may be dead-lettered. A
message that waited out the whole outage patience is the one exception: it is given up.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace

from redis.asyncio import Redis

from bot.app import App
from bot.phones import display
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import FAST, drained
from tests.reliability.conftest import FAULTS_GROUPS, FAULTS_LINE, StartApp, faults_extensions
from tests.reliability.figures import record
from tests.reliability.test_telegram_faults import (
    GROUP_CHAT,
    Seen,
    client_of,
    company,
    deliveries,
    expected_messages,
    group_of,
    rep_of,
    seen,
)

LATE = "\n\n⏳ Отправлено с опозданием: Telegram был недоступен, когда поступил звонок."
ADMIN = 1000
CALLS = 6  # every one missed (odd indexes in expected_messages are missed calls)
# Quick retries short enough that, without waiting the outage out, each message would have
# been redelivered into the dead letters (5 deliveries, 2 s apart) well within the outage.
OUTAGE_TUNING = replace(FAST, send_backoff=(0.05, 0.1), outage_retry_cap=0.5, telegram_timeout=1)
OUTAGE_SECONDS = 15.0


def late(line: Seen) -> Seen:
    """A missed-call alert that could only go out after the outage says why it is late."""
    chat, text, buttons = line
    alert = text.startswith("❌") and "Звонок шёл на" in text
    return (chat, text + LATE, buttons) if alert else line


async def outbox_dead_letters(app: App) -> int:
    return int(await app.redis.xlen(app.keys.dead_letters(app.keys.outbox(0))))


def chats() -> list[int]:
    reps = [rep_of(e) for g in range(1, FAULTS_GROUPS + 1) for e in faults_extensions(g)]
    return [GROUP_CHAT, *reps]


async def play_missed(mango: MangoSimulator, indexes: range, *, one_by_one: bool = False) -> None:
    """Calls nobody answers, all at once or ``one_by_one`` (each over before the next)."""
    calls = [
        mango.play_inbound(
            FAULTS_LINE,
            client_of(index),
            group_id=group_of(index),
            ring=faults_extensions(group_of(index)),
            answered_by=None,
            record=False,
        )
        for index in indexes
    ]
    if one_by_one:
        for call in calls:
            await call
            await mango.wait_idle()
    else:
        await asyncio.gather(*calls)
    await mango.wait_idle()


def kind_of(message: ChatMessage) -> str:
    """What a message about a call is: a card, a missed alert or a group summary."""
    if message.text.startswith("⬇️"):
        return "summary"
    return "alert" if "Звонок шёл на" in message.text else "card"


def calls_in_order_shown(messages: list[ChatMessage], indexes: range) -> dict[str, list[int]]:
    """For each kind of message, the calls they are about, in the order they arrived."""
    clients = {display(client_of(index)): index for index in indexes}
    shown: dict[str, list[int]] = {}
    for message in messages:
        [index] = [i for client, i in clients.items() if client in message.text]
        shown.setdefault(kind_of(message), []).append(index)
    return shown


async def test_alerts_raised_while_telegram_is_down_arrive_once_it_is_back(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp, redis: Redis
) -> None:
    emulator.add_user(ADMIN, "Olga", language_code="ru")
    app = await company(
        emulator, start_app, OUTAGE_TUNING, admin_ids=[ADMIN], telegram_outage_notice_minutes=0
    )
    before = {chat: len(emulator.bot_messages(chat)) for chat in chats()}
    await emulator.stop()  # Telegram refuses every connection from now on

    indexes = range(1, 2 * CALLS, 2)
    started = time.monotonic()
    await play_missed(mango, indexes, one_by_one=True)
    await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - started)))
    assert deliveries(app, "outage") > 0  # the sender did meet the outage, and waited
    assert await outbox_dead_letters(app) == 0
    assert app.telegram.describe() == "down"  # the sender told /readyz and the gauge

    requests_before = len(emulator.requests)
    waits = deliveries(app, "outage")
    await emulator.start()  # back, on the same address
    back = time.monotonic()
    await drained(app, patience=60)
    drain = time.monotonic() - back

    shown = [m for chat in chats() for m in emulator.bot_messages(chat)[before[chat] :]]
    expected = Counter(late(line) for index in indexes for line in expected_messages(index))
    actual = Counter(seen(m) for m in shown)
    assert actual == expected, {"missing": expected - actual, "extra": actual - expected}
    after = [name for name, _ in emulator.requests[requests_before:]]
    assert "editMessageText" not in after  # each went out once, in its final state
    for chat in chats():  # each chat in order, missed alerts before summaries
        messages = emulator.bot_messages(chat)[before[chat] :]
        for kind, calls in calls_in_order_shown(messages, indexes).items():
            assert calls == sorted(calls), (chat, kind, calls)
    kinds = [kind_of(m) for m in emulator.bot_messages(GROUP_CHAT)[before[GROUP_CHAT] :]]
    assert kinds == ["alert"] * CALLS + ["summary"] * CALLS
    assert app.telegram.describe() == "up"
    assert [m.text for m in emulator.bot_messages(ADMIN)] == [  # once, however many replicas
        "⚠️ Telegram был недоступен около 1 мин. Сообщения за это время, сначала о "
        "пропущенных звонках, отправлены с опозданием; ничего не потеряно."
    ]
    assert await outbox_dead_letters(app) == 0
    record(
        "Telegram unreachable",
        f"the Telegram emulator refused every connection for {OUTAGE_SECONDS:.0f} s while "
        f"{CALLS} calls were "
        f"missed (quick retries {OUTAGE_TUNING.send_backoff} s, then waits of at most "
        f"{OUTAGE_TUNING.outage_retry_cap} s; in production at most 60 s, for "
        "TELEGRAM_OUTAGE_HOURS)",
        "every card, missed alert and group summary arrives once Telegram is back, once "
        "each, in its final state (no edits after the outage), missed alerts first and each "
        "chat in order; alerts say they come late; nothing is dead-lettered",
        {
            "messages": len(shown),
            "waits while Telegram was down": waits,
            "lost": 0,
            "doubled": 0,
            "edits after the outage": 0,
            "dead letters": 0,
            "drain after Telegram came back": f"{drain:.1f} s",
        },
    )


async def test_a_message_that_waited_out_the_whole_patience_is_given_up(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp, redis: Redis
) -> None:
    # redelivered at short intervals: what is given up reaches the dead letters sooner
    quick = replace(OUTAGE_TUNING, consumer=replace(FAST.consumer, claim_idle_ms=600))
    app = await company(emulator, start_app, quick, telegram_outage_hours=0.001)
    await emulator.stop()  # and it stays down for longer than the 3.6 s of patience
    await play_missed(mango, range(1, 2))
    given_up = 0

    async def count() -> None:
        nonlocal given_up
        given_up = await outbox_dead_letters(app)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while given_up == 0 and loop.time() < deadline:
        await asyncio.sleep(0.5)
        await count()
    assert given_up > 0, "no message gave up after its patience"
    assert deliveries(app, "outage") > 0  # it had waited, as any other, until then
    await emulator.start()
