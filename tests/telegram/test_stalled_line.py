"""While Telegram is unreachable, slots wait in line in Redis; one probe at a time tries
it, and when it answers the whole line goes out missed alerts first, each chat in order."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

from bot.storage import Keys
from bot.telegram.outbox import PROBE_GUARD_SECONDS, Outbox, OutMessage, Priority

KEYS = Keys()


async def queued(redis: Redis, outbox: Outbox) -> list[tuple[str, dict[str, str]]]:
    """Every outbox stream entry, highest priority first, each stream in order."""
    found: list[tuple[str, dict[str, str]]] = []
    for stream in outbox.streams():
        entries: Any = await redis.xrange(stream)
        found += [(stream.rsplit(":", 1)[1], fields) for _, fields in entries]
    return found


async def stall_three(redis: Redis, outbox: Outbox) -> list[str]:
    """A summary, then two missed alerts to the same chat, stalled out of order."""
    slots = {"summary": Priority.SUMMARY, "alert-1": Priority.MISSED, "alert-2": Priority.MISSED}
    for slot, priority in slots.items():
        await outbox.put(slot, OutMessage(chat_id=7, text=slot), priority)
    await redis.delete(*outbox.streams())
    created = time.time()
    for offset, slot in ((2.0, "summary"), (1.0, "alert-2"), (0.0, "alert-1")):
        key = outbox.slot_key(slot)
        await outbox.stall(key, created=created + offset)
    return [outbox.slot_key(s) for s in ("alert-1", "alert-2", "summary")]


async def test_the_line_goes_out_alerts_first_each_chat_in_order(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    in_order = await stall_three(redis, outbox)
    await outbox.stall(in_order[0], created=0)  # stalled again: keeps its place
    assert await outbox.stalled() == 3

    assert await outbox.release_stalled() == 3

    assert await outbox.stalled() == 0
    assert [(p, f["slot"], f["chat"]) for p, f in await queued(redis, outbox)] == [
        ("1", in_order[0], "7"),
        ("1", in_order[1], "7"),
        ("2", in_order[2], "7"),
    ]


async def test_one_probe_at_a_time_and_only_when_due(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    in_order = await stall_three(redis, outbox)
    now = time.time()
    await outbox.probe_after(5)

    assert not await outbox.release_probe(now)  # not yet
    assert await outbox.release_probe(now + 6)  # the first in line tries Telegram
    assert not await outbox.release_probe(now + 7)  # while it does, nobody else
    assert [f for _, f in await queued(redis, outbox)] == [
        {"slot": in_order[0], "chat": "7", "probe": "1"}
    ]
    assert await outbox.stalled() == 2
    assert await outbox.release_probe(now + 7 + PROBE_GUARD_SECONDS)  # it never reported


async def test_an_expired_slot_hands_the_probe_on_at_once(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    in_order = await stall_three(redis, outbox)
    await redis.delete(in_order[0])
    now = time.time()

    assert not await outbox.release_probe(now)  # the first in line is gone…
    assert await outbox.release_probe(now)  # …so the next one probes
    assert [f["slot"] for _, f in await queued(redis, outbox)] == [in_order[1]]


async def test_a_slot_joins_the_line_only_while_there_is_one(redis: Redis) -> None:
    outbox = Outbox(redis, KEYS)
    await outbox.put("late", OutMessage(chat_id=7, text="late"), Priority.MISSED)
    key = outbox.slot_key("late")
    marks = ("waits", "waits_since")

    assert not await outbox.join_line(key, created=1.0, marks=marks)  # no line: try Telegram
    assert await redis.hget(key, "waits") is None

    in_order = await stall_three(redis, outbox)
    assert await outbox.join_line(key, created=0.5, marks=marks)
    assert await redis.hget(key, "waits") == "0"
    assert await redis.zrange(KEYS.outbox_stalled(), 0, 0) == [key]
    assert await outbox.stalled() == len(in_order) + 1
