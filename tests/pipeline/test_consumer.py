"""The stream consumer: ack after success (or let the handler's last write do it), take
over crashed consumers, dead-letter."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import LockNotOwnedError

from bot.pipeline.consumer import (
    ConsumerOptions,
    DeadHandler,
    EntriesHandler,
    Entry,
    EntryHandler,
    Handling,
    StreamConsumer,
    handling,
)
from bot.pipeline.sessions import SessionStore
from bot.storage import Keys

FAST = ConsumerOptions(block_ms=50, claim_idle_ms=50, claim_every_s=0.05, max_deliveries=3)


async def _never(entry_id: str, fields: Entry) -> None:
    raise AssertionError("not expected")


def _consumer(
    redis: Redis, name: str, handler: EntryHandler = _never, on_dead: DeadHandler | None = None
) -> StreamConsumer:
    return StreamConsumer(
        redis, "s", "g", name, handler, dead_letter_stream="s:dead", on_dead=on_dead, options=FAST
    )


async def _run_until(consumer: StreamConsumer, done: asyncio.Event) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(done.wait(), 5)
    finally:
        stop.set()
        await task


async def test_entries_are_handled_then_acked(redis: Redis) -> None:
    seen: list[str] = []
    done = asyncio.Event()

    async def handle(entry_id: str, fields: Entry) -> None:
        seen.append(fields["n"])
        if len(seen) == 3:
            done.set()

    for n in range(3):
        await redis.xadd("s", {"n": str(n)})
    await _run_until(_consumer(redis, "a", handle), done)

    assert seen == ["0", "1", "2"]
    pending = await redis.xpending("s", "g")
    assert pending["pending"] == 0


async def test_entries_of_one_key_are_handled_one_after_another_in_order(redis: Redis) -> None:
    running: Counter[str] = Counter()
    most: Counter[str] = Counter()
    started: list[str] = []
    done = asyncio.Event()

    async def handle(entry_id: str, fields: Entry) -> None:
        key = fields.get("call", "none")
        running[key] += 1
        running["all"] += 1
        most[key] = max(most[key], running[key])
        most["all"] = max(most["all"], running["all"])
        started.append(fields["n"])
        await asyncio.sleep(0.02)
        running[key] -= 1
        running["all"] -= 1
        if len(started) == 7:
            done.set()

    for n, call in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("x", None), ("a3", "a"), ("b2", "b")]:
        fields: dict[Any, Any] = {"n": n} | ({"call": call} if call else {})
        await redis.xadd("s", fields)
    await redis.xadd("s", {"n": "y"})
    consumer = StreamConsumer(
        redis, "s", "g", "c", handle, dead_letter_stream="s:dead", options=FAST, key=_call_of
    )
    await _run_until(consumer, done)

    assert most["a"] == most["b"] == 1  # never two of one key at once
    assert most["all"] >= 3  # the keys, and entries without one, side by side
    assert [n for n in started if n.startswith("a")] == ["a1", "a2", "a3"]
    assert [n for n in started if n.startswith("b")] == ["b1", "b2"]
    assert (await redis.xpending("s", "g"))["pending"] == 0


async def test_an_entry_waiting_behind_its_key_is_not_taken_over_meanwhile(redis: Redis) -> None:
    handled: Counter[str] = Counter()
    done = asyncio.Event()

    async def handle(entry_id: str, fields: Entry) -> None:
        handled[fields["n"]] += 1
        if fields["n"] == "first":
            await asyncio.sleep(0.3)  # far past FAST's claim idle time
        else:
            done.set()

    await redis.xadd("s", {"n": "first", "call": "a"})
    await redis.xadd("s", {"n": "second", "call": "a"})
    consumer = StreamConsumer(
        redis, "s", "g", "c", handle, dead_letter_stream="s:dead", options=FAST, key=_call_of
    )
    await _run_until(consumer, done)

    assert handled == {"first": 1, "second": 1}


async def test_entries_that_waited_behind_their_key_are_handled_together(redis: Redis) -> None:
    singles: list[str] = []
    groups: list[list[str]] = []
    done = asyncio.Event()
    release = asyncio.Event()

    async def handle(entry_id: str, fields: Entry) -> None:
        singles.append(fields["n"])
        if fields["n"] == "a1":
            await release.wait()  # a2..a4 and b1 are read meanwhile

    async def together(entries: list[tuple[str, Entry]]) -> None:
        groups.append([fields["n"] for _, fields in entries])
        done.set()

    for n, call in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("a3", "a"), ("a4", "a")]:
        await redis.xadd("s", {"n": n, "call": call})
    await _run_keyed(redis, handle, together, read=4, release=release, done=done)  # b1 may be done

    assert singles == ["a1", "b1"]
    assert groups == [["a2", "a3", "a4"]]
    assert (await redis.xpending("s", "g"))["pending"] == 0


async def test_entries_handled_together_that_failed_are_retried_each_on_its_own(
    redis: Redis,
) -> None:
    singles: list[str] = []
    done = asyncio.Event()
    release = asyncio.Event()

    async def handle(entry_id: str, fields: Entry) -> None:
        singles.append(fields["n"])
        if fields["n"] == "a1":
            await release.wait()
        if singles.count("a2") and singles.count("a3"):
            done.set()

    async def together(entries: list[tuple[str, Entry]]) -> None:
        raise RuntimeError("boom")

    for n in ("a1", "a2", "a3"):
        await redis.xadd("s", {"n": n, "call": "a"})
    await _run_keyed(redis, handle, together, read=3, release=release, done=done)

    assert sorted(singles) == ["a1", "a2", "a3"]  # taken over once idle, one by one
    assert (await redis.xpending("s", "g"))["pending"] == 0


async def _run_keyed(
    redis: Redis,
    handle: EntryHandler,
    together: EntriesHandler,
    *,
    read: int,
    release: asyncio.Event,
    done: asyncio.Event,
) -> None:
    """Run a consumer keyed by call; once it has read ``read`` entries, set ``release``;
    stop once ``done`` is set."""
    consumer = StreamConsumer(
        redis,
        "s",
        "g",
        "c",
        handle,
        dead_letter_stream="s:dead",
        options=FAST,
        key=_call_of,
        together=together,
    )
    await consumer.ensure_group()
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await _read_already(redis, read)
        release.set()
        await asyncio.wait_for(done.wait(), 5)
    finally:
        stop.set()
        await task


async def _read_already(redis: Redis, entries: int) -> None:
    """Wait until the consumer has read ``entries`` entries (they are pending)."""
    for _ in range(500):
        if (await redis.xpending("s", "g"))["pending"] >= entries:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the entries were not read")


def _call_of(fields: Entry) -> str | None:
    return fields.get("call")


async def test_entries_of_a_crashed_consumer_are_taken_over(redis: Redis) -> None:
    crashed = _consumer(redis, "crashed")
    await crashed.ensure_group()
    await redis.xadd("s", {"n": "1"})
    await redis.xreadgroup("g", "crashed", {"s": ">"}, count=10)  # read, never acked

    done = asyncio.Event()
    seen: list[str] = []

    async def handle(entry_id: str, fields: Entry) -> None:
        seen.append(fields["n"])
        done.set()

    await asyncio.sleep(0.06)
    await _run_until(_consumer(redis, "b", handle), done)
    assert seen == ["1"]


async def test_failures_are_retried_then_dead_lettered_once(redis: Redis) -> None:
    attempts: Counter[str] = Counter()
    dead: list[tuple[str, int]] = []
    done = asyncio.Event()

    async def handle(entry_id: str, fields: Entry) -> None:
        attempts[fields["n"]] += 1
        if fields["n"] == "bad" or attempts[fields["n"]] == 1:
            raise RuntimeError("boom")

    async def on_dead(entry_id: str, fields: Entry, deliveries: int) -> None:
        dead.append((fields["n"], deliveries))
        done.set()

    await redis.xadd("s", {"n": "flaky"})
    await redis.xadd("s", {"n": "bad"})
    await _run_until(_consumer(redis, "a", handle, on_dead=on_dead), done)

    assert attempts["flaky"] == 2
    assert attempts["bad"] == 3
    assert dead == [("bad", 4)]
    [(_, fields)] = await redis.xrange("s:dead") or []
    assert fields is not None
    assert fields["n"] == "bad"
    assert (await redis.xpending("s", "g"))["pending"] == 0


async def test_a_long_high_priority_stream_goes_before_what_a_blocking_read_brought(
    redis: Redis,
) -> None:
    """Entries that arrive in both streams while the consumer waits: everything of the
    higher-priority stream is taken before the lower one's, not just the first batch."""
    started: list[str] = []
    done = asyncio.Event()

    async def handler(entry_id: str, fields: Entry) -> None:
        started.append(fields["n"])
        if len(started) == 14:
            done.set()

    options = ConsumerOptions(batch=4, block_ms=2000, claim_every_s=60)
    consumer = StreamConsumer(
        redis, ["high", "low"], "g", "c", handler, dead_letter_stream="dead", options=options
    )
    await consumer.ensure_group()
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.sleep(0.2)  # it waits in a blocking read of both streams
    async with redis.pipeline(transaction=True) as pipe:  # all at once, as a release does
        for n in range(10):
            pipe.xadd("high", {"n": f"h{n}"})
        for n in range(4):
            pipe.xadd("low", {"n": f"l{n}"})
        await pipe.execute()
    try:
        await asyncio.wait_for(done.wait(), 5)
    finally:
        stop.set()
        await task
    assert started == [f"h{n}" for n in range(10)] + [f"l{n}" for n in range(4)]


async def test_a_handler_that_acknowledged_its_entry_itself_gets_no_second_xack(
    redis: Redis,
) -> None:
    done = asyncio.Event()
    seen: list[tuple[str, str, tuple[str, ...]]] = []

    async def handle(entry_id: str, fields: Entry) -> None:
        entry = handling()
        assert entry is not None
        seen.append((entry.stream, entry.group, entry.entry_ids))
        entry.acknowledged()  # says so without doing it: the consumer must believe it
        done.set()

    entry_id = await redis.xadd("s", {"n": "1"})
    await _run_until(_consumer(redis, "a", handle), done)

    assert seen == [("s", "g", (entry_id,))]
    assert (await redis.xpending("s", "g"))["pending"] == 1
    assert handling() is None  # only while a handler runs


async def test_a_session_saved_last_acknowledges_its_entry_with_the_save(redis: Redis) -> None:
    store = SessionStore(redis, Keys())
    done = asyncio.Event()

    async def handle(entry_id: str, fields: Entry) -> None:
        async with store.open("main", fields["call"], last_for=handling()) as session:
            session.menu = "1"
        done.set()

    await redis.xadd("s", {"call": "E1"})
    consumer = _consumer(redis, "a", handle)
    await _run_until(consumer, done)

    assert (await redis.xpending("s", "g"))["pending"] == 0
    saved = await store.get("main", "E1")
    assert saved is not None and saved.menu == "1"


async def test_a_save_that_lost_its_lock_acknowledges_nothing(redis: Redis) -> None:
    await redis.xgroup_create("s", "g", id="0", mkstream=True)
    entry_id = await redis.xadd("s", {"call": "E1"})
    await redis.xreadgroup("g", "a", {"s": ">"})
    store = SessionStore(redis, Keys())
    entry = Handling("s", "g", (str(entry_id),))

    async def handle_while_the_lock_expires() -> None:
        async with store.open("main", "E1", last_for=entry) as session:
            session.menu = "1"
            await redis.delete(Keys().call_session("main", "E1") + ":lock")

    with pytest.raises(LockNotOwnedError):
        await handle_while_the_lock_expires()

    assert not entry.acked
    assert (await redis.xpending("s", "g"))["pending"] == 1
    assert await store.get("main", "E1") is None
