"""A budget for the Redis commands one call costs the app, counted by a tap in front of
Redis (so what Lua scripts run inside Redis counts once, as the one EVALSHA sent).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import pytest_asyncio
from redis.asyncio import Redis

from bot.app import App
from bot.domain import SubscriptionKind
from bot.events import Direction
from bot.pipeline.sessions import CallSession
from bot.ratelimit import SharedRateLimiter, Take
from bot.services.phonebook import Phonebook, PhonebookEntry
from bot.telegram.outbox import OutMessage, Priority
from sandbox.mango import Group, MangoSimulator
from sandbox.redis_tap import RedisTap, TapSnapshot
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.conftest import StartApp
from tests.e2e.conftest import BORIS, GROUP, LINE, MARIA, REP_ANNA, staff

COMMANDS_PER_ANSWERED_CALL_MEASURED = 222
COMMANDS_PER_ANSWERED_CALL_MAX = 310
COMMANDS_PER_MISSED_CALL_MEASURED = 189
COMMANDS_PER_MISSED_CALL_MAX = 265
IDLE_SECONDS = 2.0
TRIO = 2  # a ring group of Anna, Boris and Maria


@pytest_asyncio.fixture
async def tap(redis_url: str) -> AsyncIterator[RedisTap]:
    async with RedisTap(redis_url) as running:
        yield running


@pytest_asyncio.fixture
async def direct(redis_url: str) -> AsyncIterator[Redis]:
    """A client beside the tap, for looking without being counted, on an empty database:
    what other tests left (calls of the same numbers, say) costs round trips of its own."""
    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest_asyncio.fixture
async def company(
    tap: RedisTap, emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp
) -> App:
    """The staffed app talking to Redis through the tap; the group follows missed calls,
    summaries and recordings."""
    mango.add_group(Group(id=TRIO, name="Support", extension="501", members=["101", "102", "103"]))
    app = await staff(emulator, await start_app(redis_url=tap.url))
    for kind in (SubscriptionKind.MISSED, SubscriptionKind.SUMMARY, SubscriptionKind.RECORDINGS):
        await app.repos.subscriptions.subscribe(GROUP, "main", kind)
    emulator.add_bot_to_group(GROUP, 1000)
    return app


async def settled(app: App, direct: Redis, patience: float = 15.0) -> None:
    """Every stored event processed and every queued message delivered, checked through
    ``direct`` so the checks cost the tap nothing."""
    streams = [(app.keys.events_stream(), "workers")] + [
        (stream, "senders") for stream in app.outbox.streams()
    ]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    quiet = 0
    while quiet < 3:
        assert loop.time() < deadline, "the pipeline did not drain"
        busy = await direct.zcard(app.keys.outbox_delayed())
        busy += await direct.zcard(app.keys.outbox_stalled())
        if app.worker.identifier is not None:
            busy += app.worker.identifier.pending
        for stream, group in streams:
            if not await direct.exists(stream):  # not made yet: nothing in it
                continue
            for info in await direct.xinfo_groups(stream):
                if info["name"] == group:
                    busy += int(info["pending"]) + int(info.get("lag") or 0)
        quiet = quiet + 1 if busy == 0 else 0
        await asyncio.sleep(0.05)


async def idle_rate(tap: RedisTap) -> float:
    """Commands per second the app sends with nothing happening (its polling)."""
    before = tap.snapshot()
    await asyncio.sleep(IDLE_SECONDS)
    return (tap.snapshot() - before).commands / IDLE_SECONDS


async def call_cost(
    app: App, tap: RedisTap, direct: Redis, mango: MangoSimulator, *, answered: bool
) -> tuple[int, TapSnapshot]:
    """The commands one ring-group call cost, background polling taken out, and the raw
    counts."""
    rate = await idle_rate(tap)
    before, started = tap.snapshot(), asyncio.get_running_loop().time()
    await mango.play_inbound(
        LINE,
        "79001234567" if answered else "79005550000",
        group_id=TRIO,
        answered_by="102" if answered else None,
        record=answered,
    )
    await mango.wait_idle()
    await settled(app, direct)
    spent = tap.snapshot() - before
    seconds = asyncio.get_running_loop().time() - started
    return round(spent.commands - rate * seconds), spent


def _missed(messages: list[ChatMessage]) -> list[ChatMessage]:
    return [m for m in messages if "Missed call" in m.text or "Пропущенный звонок" in m.text]


async def test_redis_commands_per_call_stay_within_budget(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    tap: RedisTap,
    direct: Redis,
    company: App,
) -> None:
    """An answered, recorded ring-group call and a missed one, each measured from the
    first event until everything it caused reached Telegram. The app polls Redis all the
    time (stream reads, delayed sends, jobs), so an idle stretch just before each call
    gives that background rate, and the call is charged only what it cost above it."""
    await settled(company, direct)
    answered, answered_raw = await call_cost(company, tap, direct, mango, answered=True)
    [boris_card, recording] = [m for m in emulator.bot_messages(BORIS) if "pbxgram" not in m.text]
    assert "Call ended" in boris_card.text
    assert recording.file is not None
    [anna_card] = [m for m in emulator.bot_messages(REP_ANNA) if "pbxgram" not in m.text]
    assert "Boris Ivanov" in anna_card.text
    group = emulator.bot_messages(GROUP)
    assert any("Inbound call" in m.text or "Входящий" in m.text for m in group)
    assert any(m.file is not None for m in group)

    missed, missed_raw = await call_cost(company, tap, direct, mango, answered=False)
    for chat in (REP_ANNA, BORIS, MARIA, GROUP):
        assert _missed(emulator.bot_messages(chat)), chat

    print(f"answered call: {answered} commands net, {answered_raw}")
    print(f"missed call: {missed} commands net, {missed_raw}")
    assert answered <= COMMANDS_PER_ANSWERED_CALL_MAX, (
        f"{answered} (about {COMMANDS_PER_ANSWERED_CALL_MEASURED} when the bound was set)",
        answered_raw,
    )
    assert missed <= COMMANDS_PER_MISSED_CALL_MAX, (
        f"{missed} (about {COMMANDS_PER_MISSED_CALL_MEASURED} when the bound was set)",
        missed_raw,
    )


async def test_a_new_callers_identity_spam_mark_and_context_are_one_round_trip(
    tap: RedisTap, direct: Redis, start_app: StartApp
) -> None:
    app = await start_app(redis_url=tap.url)
    await settled(app, direct)  # past the start-up (its first reclaims and reads)
    identifier = app.worker.identifier
    assert identifier is not None
    number = "+79001234567"
    await Phonebook(direct, app.keys).replace({number: PhonebookEntry(name="Ivan Sidorov")})
    await direct.sadd(app.keys.spam_numbers("main"), number)
    spent: list[int] = []
    for call_id in ("C1", "C2", "C3"):  # the least of three: the app's polling may cut in
        session = CallSession(
            account="main", call_id=call_id, direction=Direction.INBOUND, client_number=number
        )
        before = tap.snapshot()
        ask = await identifier.prepare(session)
        spent.append((tap.snapshot() - before).round_trips)

        assert session.caller is not None and session.caller.name == "Ivan Sidorov"
        assert session.spam is True
        assert session.context is None  # nothing of this number's calls is stored yet
        assert ask is True  # MANGO's address book is still to be asked, in the background
    assert min(spent) == 1, spent


async def test_an_outbox_entry_for_a_version_already_delivered_costs_no_lock(
    tap: RedisTap, direct: Redis, emulator: TelegramEmulator, start_app: StartApp
) -> None:
    app = await staff(emulator, await start_app(redis_url=tap.url))
    await app.outbox.put("card:test", OutMessage(chat_id=BORIS, text="Ringing"), Priority.RINGING)
    await app.outbox.put("card:test", OutMessage(chat_id=BORIS, text="Ended"), Priority.RINGING)
    await settled(app, direct)
    [card] = [m for m in emulator.bot_messages(BORIS) if m.text in ("Ringing", "Ended")]
    assert card.text == "Ended"
    slot = app.keys.slot("card:test")
    created = await direct.hget(slot, "created")
    assert await direct.hget(slot, "sent_version") == "2"

    before = tap.snapshot()
    await direct.xadd(
        app.keys.outbox(Priority.RINGING),
        {"slot": slot, "chat": str(BORIS), "version": "1", "created": str(created)},
    )
    await settled(app, direct)
    spent = tap.snapshot() - before

    assert "HGETALL" not in spent.by_command  # not even read: nothing was left to deliver
    assert spent.by_command.get("XACK") == 1
    assert [m.text for m in emulator.bot_messages(BORIS) if m.text == "Ended"] == ["Ended"]


async def test_edits_queued_behind_a_delivery_are_acknowledged_with_its_note(
    tap: RedisTap, direct: Redis, emulator: TelegramEmulator, start_app: StartApp
) -> None:
    app = await staff(emulator, await start_app(redis_url=tap.url))
    await settled(app, direct)
    # Telegram asked Boris's chat to wait a moment: the card's first entry waits for its
    # turn while two edits queue behind it.
    await direct.set(app.keys.chat_cooldown(BORIS), "1", px=500)
    before = tap.snapshot()
    for text in ("Ringing", "Talking", "Ended"):
        await app.outbox.put("card:queued", OutMessage(chat_id=BORIS, text=text), Priority.RINGING)
    await settled(app, direct)
    spent = tap.snapshot() - before

    shown = [
        m.text for m in emulator.bot_messages(BORIS) if m.text in ("Ringing", "Talking", "Ended")
    ]
    assert shown == ["Ended"]  # the newest version went out, once
    assert await direct.hget(app.keys.slot("card:queued"), "sent_version") == "3"
    # The delivery's note acknowledged the two entries it covered: no XACK of their own.
    assert "XACK" not in spent.by_command


class CountingLimiter(SharedRateLimiter):
    """The app's rate limiter, counting the tries that cost a round trip of their own."""

    tries = 0

    async def _try_all(self, takes: Sequence[Take], unless: str | None) -> tuple[int | None, float]:
        CountingLimiter.tries += 1
        return await super()._try_all(takes, unless)


async def test_a_chats_rate_limit_slots_ride_on_the_deliverys_lease(
    direct: Redis, emulator: TelegramEmulator, start_app: StartApp
) -> None:
    app = await staff(emulator, await start_app())
    emulator.add_bot_to_group(GROUP, 1000)
    await emulator.wait_for_message(GROUP)  # its welcome
    await settled(app, direct)
    app.sender.limiter = CountingLimiter(app.redis)
    CountingLimiter.tries = 0

    for chat in (REP_ANNA, BORIS, MARIA, GROUP):
        hello = OutMessage(chat_id=chat, text="Hello")
        await app.outbox.put(f"note:{chat}", hello, Priority.RINGING)
    await settled(app, direct)
    for chat in (REP_ANNA, BORIS, MARIA, GROUP):
        assert [m.text for m in emulator.bot_messages(chat)][-1] == "Hello", chat
    assert CountingLimiter.tries == 0  # a group's first plain text too

    # A group's edit takes no slot of the group's minute, and a reply may have to wait for
    # the message it answers: each takes its slots on its own, just before its request.
    again = OutMessage(chat_id=GROUP, text="Hello again")
    await app.outbox.put(f"note:{GROUP}", again, Priority.RINGING)
    await settled(app, direct)
    reply = OutMessage(chat_id=GROUP, text="Noted", reply_to_slot=f"note:{GROUP}")
    await app.outbox.put("reply", reply, Priority.RINGING)
    await settled(app, direct)
    texts = [m.text for m in emulator.bot_messages(GROUP)]
    assert "Hello again" in texts and texts[-1] == "Noted"
    assert CountingLimiter.tries == 2


async def test_a_delivery_waiting_for_its_slots_lock_spends_no_rate_limit_slots(
    direct: Redis, emulator: TelegramEmulator, start_app: StartApp
) -> None:
    """Another replica holds the slot's lock for a while: the tries to take it meanwhile
    take no slot of the chat's limit (only the one that goes out does)."""
    app = await staff(emulator, await start_app())
    await settled(app, direct)
    started = time.time()
    slot = app.outbox.slot_key("note:boris")
    await direct.set(f"{slot}:lock", "another replica", px=700)

    await app.outbox.put("note:boris", OutMessage(chat_id=BORIS, text="Hello"), Priority.RINGING)
    await emulator.wait_for_message(BORIS, lambda m: m.text == "Hello")

    [chat_limit, *_] = app.sender._turn_takes(BORIS, edit=False)
    window = await direct.lrange(app.sender.limiter._key(chat_limit), 0, -1)
    assert len([at for at in window if float(at) >= started]) == 1
