"""``pbxgram dead-letters``: list, show, replay to where each came from, drop; capped."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.cli import build_parser
from bot.config import Settings
from bot.dead_letter_commands import run
from bot.pipeline.consumer import ConsumerOptions, Entry, StreamConsumer
from bot.storage import Keys
from bot.telegram.dead_letters import RefusedMessages
from bot.telegram.outbox import Outbox, OutMessage, Priority

KEYS = Keys()
EVENTS = KEYS.events_stream()
FAST = ConsumerOptions(block_ms=20, claim_idle_ms=0, claim_every_s=0.0, max_deliveries=1)


async def command(settings: Settings, *argv: str) -> str:
    return await run(settings, build_parser().parse_args(["dead-letters", *argv]))


async def dead_event(redis: Redis, *, maxlen: int = 10_000) -> None:
    """An event whose handler always fails, run until it is dead-lettered."""
    done = asyncio.Event()

    async def handle(entry_id: str, fields: Entry) -> None:
        raise RuntimeError("boom: no such call")

    async def on_dead(entry_id: str, fields: Entry, deliveries: int) -> None:
        done.set()

    consumer = StreamConsumer(
        redis,
        EVENTS,
        "workers",
        "w",
        handle,
        dead_letter_stream=KEYS.dead_letters(EVENTS),
        on_dead=on_dead,
        options=FAST,
        dead_letters_max=maxlen,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.wait_for(done.wait(), 10)
    stop.set()
    await task


async def refused_message(redis: Redis) -> str:
    outbox = Outbox(redis, KEYS)
    await outbox.put("card:1", OutMessage(chat_id=77, text="Ringing"), Priority.MISSED)
    key = KEYS.slot("card:1")
    await redis.hset(key, "sent_version", 1)  # what the sender notes after a refusal

    async def admins() -> list[int]:
        return []

    refused = RefusedMessages(redis, KEYS.dead_letters(KEYS.outbox(0)), admins, None, outbox)  # type: ignore[arg-type]
    await refused(key, 77, "Bad Request: chat not found")
    return key


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


async def test_list_and_show_say_where_when_what_and_why(redis: Redis, settings: Settings) -> None:
    await redis.xadd(EVENTS, {"event": '{"kind": "leg", "account": "main", "call_id": "c1"}'})
    await dead_event(redis)
    await refused_message(redis)

    listing = (await command(settings, "list")).splitlines()
    assert listing[0] == "2 dead letter(s):"
    assert listing[1].startswith("events:")
    assert "pbxgram:events:dead  leg, account main, call_id c1: RuntimeError: boom" in listing[1]
    assert listing[2].startswith("outbox:")
    assert "message for chat 77 (slot card:1): Bad Request: chat not found" in listing[2]

    shown = await command(settings, "show", listing[1].split()[0])
    assert "came from: pbxgram:events\n" in shown
    assert "why: RuntimeError: boom: no such call" in shown
    assert "  deliveries: 2" in shown


async def test_replay_puts_each_back_where_it_came_from(redis: Redis, settings: Settings) -> None:
    await redis.xadd(EVENTS, {"event": "{}", "dedupe": "d1"})
    await dead_event(redis)
    key = await refused_message(redis)
    before = await redis.xlen(EVENTS)

    out = await command(settings, "replay", "--all")

    assert "replayed to pbxgram:events" in out
    assert "replayed to pbxgram:outbox:1" in out
    newest: Any = await redis.xrevrange(EVENTS, count=1)
    last = newest[0][1]
    assert last == {"event": "{}", "dedupe": "d1"}  # the original fields, nothing added
    assert await redis.xlen(EVENTS) == before + 1
    queued: Any = await redis.xrange(KEYS.outbox(1))
    slots = [f["slot"] for _, f in queued]
    assert slots[-1] == key
    assert await redis.hget(key, "sent_version") is None  # the sender will send it again
    assert await command(settings, "list") == "No dead letters."


async def test_drop_one_and_all(redis: Redis, settings: Settings) -> None:
    await redis.xadd(EVENTS, {"event": "{}"})
    await dead_event(redis)
    await refused_message(redis)
    first = (await command(settings, "list")).splitlines()[1].split()[0]

    assert await command(settings, "drop", first) == f"{first}: dropped"
    assert (await command(settings, "list")).startswith("1 dead letter(s):")
    assert (await command(settings, "drop", "--all")).endswith(": dropped")
    assert await command(settings, "list") == "No dead letters."


async def test_unknown_id_and_missing_argument(redis: Redis, settings: Settings) -> None:
    from bot.errors import PbxgramError

    with pytest.raises(PbxgramError, match="no dead letter events:1-0"):
        await command(settings, "show", "events:1-0")
    with pytest.raises(PbxgramError, match="give one ID or --all"):
        await command(settings, "replay")


async def test_the_dead_letter_stream_is_capped(redis: Redis) -> None:
    dead = KEYS.dead_letters(EVENTS)
    for n in range(300):
        await redis.xadd(dead, {"n": str(n)})
    await redis.xadd(EVENTS, {"event": "{}"})
    await dead_event(redis, maxlen=100)
    assert await redis.xlen(dead) < 300


async def test_secrets_in_what_failed_are_masked(
    redis: Redis, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(bot_token="42:SECRET-token-abc")
    dead = KEYS.dead_letters(EVENTS)
    await redis.xadd(dead, {"event": "{}", "reason": "ClientError: /bot42:SECRET-token-abc/x"})

    listing = await command(settings, "list")

    assert "ClientError: /bot***/x" in listing and "SECRET" not in listing
