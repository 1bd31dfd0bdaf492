"""The app's client: its pipelines answer as redis-py's do, give their connection back
whatever happens, and make no task of their own per round trip."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Generator
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from bot.storage.client import AppRedis, LeanPipeline
from bot.storage.pool import WaitingConnectionPool

KEY = "pbxgram:test:client"


async def _client(redis_url: str, *, shared: bool) -> AsyncIterator[Redis]:
    pool = WaitingConnectionPool.from_url(
        redis_url, decode_responses=True, max_connections=2, socket_timeout=None, shared=shared
    )
    app_redis = AppRedis.from_pool(pool)
    await app_redis.delete(KEY, f"{KEY}:n")
    yield app_redis
    await app_redis.delete(KEY, f"{KEY}:n")
    await app_redis.aclose()


@pytest_asyncio.fixture(params=["pool", "shared"])
async def client(redis_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Redis]:
    """The app's client, its commands over the pool's connections or the shared one."""
    async for made in _client(redis_url, shared=request.param == "shared"):
        yield made


@pytest_asyncio.fixture
async def pooled(redis_url: str) -> AsyncIterator[Redis]:
    """The app's client with no shared connection: every command checks one out."""
    async for made in _client(redis_url, shared=False):
        yield made


def _free(client: Redis) -> int:
    pool = client.connection_pool
    assert isinstance(pool, WaitingConnectionPool)
    return pool._slots._value


async def test_answers_are_redis_pys(client: Redis) -> None:
    for transaction in (False, True):
        async with client.pipeline(transaction=transaction) as pipe:
            assert isinstance(pipe, LeanPipeline)
            pipe.set(KEY, "v", nx=True)
            pipe.set(KEY, "w", nx=True)
            pipe.get(KEY)
            pipe.incr(f"{KEY}:n")
            pipe.hgetall(f"{KEY}:none")
            answers = await pipe.execute()
        assert answers[:3] == [True, None, "v"]
        assert answers[4] == {}
        await client.delete(KEY)
    assert await client.get(f"{KEY}:n") == "2"
    assert _free(client) == 2


async def test_a_failed_command_raises_and_gives_the_connection_back(client: Redis) -> None:
    await client.set(KEY, "text")
    async with client.pipeline(transaction=False) as pipe:
        pipe.incr(KEY)
        pipe.get(KEY)
        with pytest.raises(ResponseError, match="not an integer"):
            await pipe.execute()
    async with client.pipeline(transaction=False) as pipe:
        pipe.incr(KEY)
        pipe.get(KEY)
        error, value = await pipe.execute(raise_on_error=False)
    assert isinstance(error, ResponseError)
    assert value == "text"
    assert _free(client) == 2


@pytest.mark.parametrize("through", ["pipeline", "command"])
async def test_a_cancelled_round_trip_gives_the_connection_back_in_step(
    client: Redis, through: str
) -> None:
    async def slow() -> None:
        if through == "command":
            await client.blpop([f"{KEY}:never"], timeout=5)
            return
        async with client.pipeline(transaction=False) as pipe:
            pipe.blpop([f"{KEY}:never"], timeout=5)
            await pipe.execute()

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.1)
    assert _free(client) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _free(client) == 2
    await client.set(KEY, "after")
    for _ in range(3):  # whichever connection comes next answers its own command
        assert await client.get(KEY) == "after"
        assert await client.incr(f"{KEY}:n") >= 1


async def test_watching_goes_the_librarys_way(client: Redis) -> None:
    async with client.pipeline(transaction=True) as pipe:
        await pipe.watch(KEY)
        assert await pipe.get(KEY) is None
        pipe.multi()  # type: ignore[no-untyped-call]
        pipe.set(KEY, "x")
        assert await pipe.execute() == [True]
    assert _free(client) == 2


async def test_a_round_trip_makes_no_task(client: Redis) -> None:
    loop = asyncio.get_running_loop()
    made: list[str] = []
    default = loop.get_task_factory()

    def counting(
        loop: asyncio.AbstractEventLoop,
        coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
        **kwargs: Any,
    ) -> asyncio.Future[Any]:
        made.append(getattr(coro, "__qualname__", "?"))
        if default is not None:
            return default(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting)
    try:
        for _ in range(3):
            async with client.pipeline(transaction=False) as pipe:
                pipe.set(KEY, "x")
                pipe.get(KEY)
                await pipe.execute()
    finally:
        loop.set_task_factory(default)
    assert made == []


async def test_single_commands_answer_as_redis_pys(client: Redis, redis_url: str) -> None:
    plain = Redis.from_url(redis_url, decode_responses=True)
    try:
        for each in (client, plain):
            await each.delete(KEY, f"{KEY}:n")
            got = [
                await each.set(KEY, "v", nx=True),
                await each.set(KEY, "w", nx=True),
                await each.get(KEY),
                await each.incr(f"{KEY}:n"),
                await each.hgetall(f"{KEY}:none"),
                await each.exists(KEY, f"{KEY}:none"),
                await each.execute_command("CONFIG GET", "maxmemory-policy"),  # type: ignore[no-untyped-call]
            ]
            assert got[:6] == [True, None, "v", 1, {}, 1]
            assert "maxmemory-policy" in got[6]
        with pytest.raises(ResponseError, match="not an integer"):
            await client.incr(KEY)
    finally:
        await plain.delete(KEY, f"{KEY}:n")
        await plain.aclose()
    assert _free(client) == 2


async def test_a_dropped_connection_fails_as_redis_pys_and_the_next_one_reconnects(
    pooled: Redis, redis_url: str
) -> None:
    client = pooled
    await client.set(KEY, "kept")
    admin = Redis.from_url(redis_url, decode_responses=True)
    await admin.client_setname("pbxgram-test-admin")

    async def drop_the_clients_connections() -> None:
        mine = await admin.client_id()
        for each in await admin.client_list():
            if each.get("name") != "pbxgram-test-admin" and int(each["id"]) != mine:
                await admin.client_kill_filter(_id=each["id"])

    try:
        await drop_the_clients_connections()
        with pytest.raises(RedisConnectionError):  # redis-py's default: no retry
            await client.get(KEY)
        assert _free(client) == 2
        assert await client.get(KEY) == "kept"
        await drop_the_clients_connections()
        async with client.pipeline(transaction=False) as pipe:
            pipe.get(KEY)
            with pytest.raises(RedisConnectionError):
                await pipe.execute()
        assert _free(client) == 2
        async with client.pipeline(transaction=False) as pipe:
            pipe.get(KEY)
            pipe.exists(KEY)
            assert await pipe.execute() == ["kept", 1]
    finally:
        await admin.aclose()


async def test_a_connection_that_cannot_say_if_it_is_ready_is_made_ready_again(
    pooled: Redis,
) -> None:
    client = pooled
    pool = client.connection_pool
    assert isinstance(pool, WaitingConnectionPool)
    connection = await pool.get_connection()
    await pool.release(connection)
    asked = 0
    can_read = connection.can_read

    async def closed_once() -> bool:
        nonlocal asked
        asked += 1
        if asked == 1:
            raise RedisConnectionError("Buffer is closed.")
        return await can_read()

    connection.can_read = closed_once  # type: ignore[method-assign]
    await client.set(KEY, "after")  # the next checkout gets this connection back
    assert asked >= 2  # asked again once reconnected, as redis-py's pool does
    assert await client.get(KEY) == "after"
    assert _free(client) == 2
