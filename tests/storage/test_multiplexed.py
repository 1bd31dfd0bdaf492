"""The connection every task shares: answers reach the request that asked, in order,
whatever the other requests do meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.exceptions import BusyLoadingError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.storage.client import AppRedis
from bot.storage.multiplexed import shareable
from bot.storage.pool import WaitingConnectionPool

KEY = "pbxgram:test:shared"


@pytest_asyncio.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    pool = WaitingConnectionPool.from_url(
        redis_url, decode_responses=True, max_connections=4, socket_timeout=None
    )
    app_redis = AppRedis.from_pool(pool)
    await app_redis.delete(*(f"{KEY}:{i}" for i in range(200)), f"{KEY}:list")
    yield app_redis
    await app_redis.delete(*(f"{KEY}:{i}" for i in range(200)), f"{KEY}:list")
    await app_redis.aclose()


def _pool(client: Redis) -> WaitingConnectionPool:
    pool = client.connection_pool
    assert isinstance(pool, WaitingConnectionPool)
    return pool


async def test_many_tasks_at_once_each_get_their_own_answer_over_one_connection(
    client: Redis,
) -> None:
    async def one(i: int) -> tuple[object, list[object]]:
        await client.set(f"{KEY}:{i}", str(i))
        async with client.pipeline(transaction=False) as pipe:
            pipe.incr(f"{KEY}:{i}")
            pipe.get(f"{KEY}:{i}")
            answers = await pipe.execute()
        return await client.get(f"{KEY}:{i}"), answers

    results = await asyncio.gather(*(one(i) for i in range(200)))

    assert results == [(str(i + 1), [i + 1, str(i + 1)]) for i in range(200)]
    pool = _pool(client)
    assert not pool._available_connections and not pool._in_use_connections  # none made


async def test_a_cancelled_request_leaves_the_next_answers_in_step(client: Redis) -> None:
    await client.set(f"{KEY}:1", "one")
    await client.set(f"{KEY}:2", "two")

    async def get_one() -> object:
        return await client.get(f"{KEY}:1")

    asked = asyncio.create_task(get_one())
    await asyncio.sleep(0)  # sent, not answered yet
    asked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asked
    assert await client.get(f"{KEY}:2") == "two"
    assert await client.get(f"{KEY}:1") == "one"


async def test_an_error_answer_is_raised_and_the_next_answers_stay_in_step(
    client: Redis,
) -> None:
    await client.set(f"{KEY}:1", "text")
    with pytest.raises(ResponseError, match="not an integer"):
        await client.incr(f"{KEY}:1")
    assert await client.get(f"{KEY}:1") == "text"


async def test_blocking_commands_wait_on_the_pools_connections(client: Redis) -> None:
    async def pop() -> object:
        return await client.blpop([f"{KEY}:list"], timeout=2)

    waiting = asyncio.create_task(pop())
    await asyncio.sleep(0.05)
    async with asyncio.timeout(0.5):  # not stuck behind the blocked pop
        assert await client.set(f"{KEY}:1", "x")
        await client.rpush(f"{KEY}:list", "item")
    popped = await waiting
    assert isinstance(popped, list | tuple) and tuple(popped) == (f"{KEY}:list", "item")
    assert not shareable(("XREADGROUP", "GROUP", "g", "c", "BLOCK", 100, "STREAMS", "s", ">"))
    assert shareable(("XREADGROUP", "GROUP", "g", "c", "COUNT", 10, "STREAMS", "s", ">"))
    assert not shareable(("WATCH", KEY)) and not shareable(("SELECT", 1))


async def test_a_dropped_shared_connection_is_opened_again(client: Redis, redis_url: str) -> None:
    await client.set(f"{KEY}:1", "kept")
    admin = Redis.from_url(redis_url, decode_responses=True)
    await admin.client_setname("pbxgram-test-admin")
    try:
        mine = await admin.client_id()
        for each in await admin.client_list():
            if each.get("name") != "pbxgram-test-admin" and int(each["id"]) != mine:
                await admin.client_kill_filter(_id=each["id"])
        # One request may still meet the dropped connection, as redis-py's would.
        with contextlib.suppress(RedisConnectionError):
            await client.get(f"{KEY}:1")
        assert await client.get(f"{KEY}:1") == "kept"
        async with client.pipeline(transaction=False) as pipe:
            pipe.get(f"{KEY}:1")
            pipe.exists(f"{KEY}:1")
            assert await pipe.execute() == ["kept", 1]
    finally:
        await admin.aclose()


async def test_an_answer_saying_redis_is_not_ready_sends_the_command_the_pools_way(
    client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.set(f"{KEY}:1", "one")
    shared = _pool(client).shared
    assert shared is not None
    ask = shared.ask
    loading = 0

    async def still_loading(packed: bytes, count: int) -> list[object]:
        nonlocal loading
        loading += 1
        await ask(packed, count)
        return [BusyLoadingError("LOADING Redis is loading the dataset in memory")] * count

    monkeypatch.setattr(shared, "ask", still_loading)
    assert await client.get(f"{KEY}:1") == "one"  # answered by a pool connection
    async with client.pipeline(transaction=False) as pipe:
        pipe.get(f"{KEY}:1")
        assert await pipe.execute() == ["one"]
    assert loading == 2
    assert len(_pool(client)._available_connections) == 1
