"""The Redis tap counts round trips and commands the way a cost budget needs them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from redis.asyncio import Redis

from sandbox.redis_tap import RedisTap, _CommandReader


@pytest_asyncio.fixture
async def tapped(redis_url: str, redis: Redis) -> AsyncIterator[tuple[RedisTap, Redis]]:
    """A tap in front of the (emptied) test database and a client through it, counts at
    zero."""
    async with RedisTap(redis_url) as tap:
        client: Redis = Redis.from_url(tap.url, decode_responses=True)
        await client.ping()  # the connection's hello and the ping are not counted below
        tap.reset()
        try:
            yield tap, client
        finally:
            await client.aclose()


async def test_separate_commands_are_separate_round_trips(
    tapped: tuple[RedisTap, Redis],
) -> None:
    tap, client = tapped
    await client.set("a", "1")
    await client.get("a")
    await client.delete("a")
    assert (tap.round_trips, tap.commands) == (3, 3)
    assert tap.by_command == {"SET": 1, "GET": 1, "DEL": 1}


async def test_a_pipeline_is_one_round_trip(tapped: tuple[RedisTap, Redis]) -> None:
    tap, client = tapped
    async with client.pipeline(transaction=False) as pipe:
        for index in range(5):
            pipe.set(f"k{index}", index)
        await pipe.execute()
    assert (tap.round_trips, tap.commands) == (1, 5)
    assert tap.by_command == {"SET": 5}


async def test_a_transaction_counts_multi_and_exec(tapped: tuple[RedisTap, Redis]) -> None:
    tap, client = tapped
    async with client.pipeline(transaction=True) as pipe:
        pipe.set("a", "1")
        pipe.get("a")
        await pipe.execute()
    assert (tap.round_trips, tap.commands) == (1, 4)
    assert tap.by_command == {"MULTI": 1, "SET": 1, "GET": 1, "EXEC": 1}


async def test_a_large_value_is_one_round_trip(tapped: tuple[RedisTap, Redis]) -> None:
    tap, client = tapped
    value = "x" * 1_000_000
    await client.set("big", value)
    assert (tap.round_trips, tap.commands) == (1, 1)
    assert await client.strlen("big") == len(value)
    before = tap.snapshot()
    assert await client.get("big") == value
    assert (tap.snapshot() - before).by_command == {"GET": 1}


async def test_snapshots_subtract_and_the_url_keeps_the_database(
    tapped: tuple[RedisTap, Redis], redis: Redis
) -> None:
    tap, client = tapped
    db = redis.connection_pool.connection_kwargs.get("db", 0)
    assert tap.url.endswith(f"/{db}")
    before = tap.snapshot()
    await client.set("seen", "yes")
    assert await redis.get("seen") == "yes"  # the same database, reached directly
    delta = tap.snapshot() - before
    assert (delta.round_trips, delta.commands, dict(delta.by_command)) == (1, 1, {"SET": 1})


def test_the_reader_follows_commands_cut_anywhere() -> None:
    stream = (
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nPING\r\n*2\r\n$4\r\nxack\r\n$3\r\nabc\r\n"
    )
    for cut in range(1, len(stream)):
        reader = _CommandReader()
        names = reader.feed(stream[:cut]) + reader.feed(stream[cut:])
        assert names == ["SET", "PING", "XACK"], cut
    reader = _CommandReader()
    assert [name for byte in stream for name in reader.feed(bytes([byte]))] == [
        "SET",
        "PING",
        "XACK",
    ]
