"""Telegram unreachable for longer than the sender's quick retries: a message waits it
out, and only one that waited out the whole outage patience is given up. The helpers here
serve the outage scenarios (``test_outage_scenarios``), which show that nothing else is
lost, doubled or sent out of order.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from redis.asyncio import Redis

from bot.app import App
from bot.phones import display
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import FAST
from tests.reliability.conftest import FAULTS_LINE, StartApp, faults_extensions
from tests.reliability.test_telegram_faults import (
    Seen,
    client_of,
    company,
    deliveries,
    group_of,
)

LATE = "\n\n⏳ Отправлено с опозданием: Telegram был недоступен, когда поступил звонок."
ADMIN = 1000
# Quick retries short enough that, without waiting the outage out, each message would have
# been redelivered into the dead letters (5 deliveries, 2 s apart) well within the outage.
OUTAGE_TUNING = replace(FAST, send_backoff=(0.05, 0.1), outage_retry_cap=0.5, telegram_timeout=1)


def late(line: Seen) -> Seen:
    """A missed-call alert that could only go out after the outage says why it is late."""
    chat, text, buttons = line
    alert = text.startswith("❌") and "Звонок шёл на" in text
    return (chat, text + LATE, buttons) if alert else line


async def outbox_dead_letters(app: App) -> int:
    return int(await app.redis.xlen(app.keys.dead_letters(app.keys.outbox(0))))


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
