"""The bounded pool: never more connections than allowed, a checkout waits for a free
one, gives up plainly after its timeout, and a failed connect gives its place back."""

from __future__ import annotations

import asyncio
from importlib import metadata

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.storage.pool import WaitingConnectionPool


async def test_many_commands_at_once_share_the_allowed_connections(
    redis_url: str, redis: Redis
) -> None:
    pool = WaitingConnectionPool.from_url(
        redis_url, max_connections=3, timeout=5, client_name="pbxgram-pool-test"
    )
    client = Redis.from_pool(pool)
    try:
        await client.set("pbxgram:test:pool", "x")
        answers = await asyncio.gather(*(client.get("pbxgram:test:pool") for _ in range(50)))
        assert answers == [b"x"] * 50
        opened = [c for c in await redis.client_list() if c["name"] == "pbxgram-pool-test"]
        assert len(opened) == 3
    finally:
        await client.aclose()


async def test_a_checkout_waits_for_a_connection_given_back(redis_url: str) -> None:
    pool = WaitingConnectionPool.from_url(redis_url, max_connections=1, timeout=5)
    try:
        held = await pool.get_connection()
        waiting = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await pool.release(held)
        second = await asyncio.wait_for(waiting, 2)
        assert second is held
        await pool.release(second)
    finally:
        await pool.aclose()


async def test_a_checkout_gives_up_plainly_after_the_timeout(redis_url: str) -> None:
    pool = WaitingConnectionPool.from_url(redis_url, max_connections=1, timeout=0.1)
    try:
        held = await pool.get_connection()
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await pool.get_connection()
        await pool.release(held)
        await pool.release(await pool.get_connection())  # the place was not lost
    finally:
        await pool.aclose()


async def test_a_failed_connect_gives_its_place_back() -> None:
    pool = WaitingConnectionPool.from_url(
        "redis://127.0.0.1:1/0", max_connections=1, timeout=0.2, socket_connect_timeout=0.5
    )
    try:
        for _ in range(3):  # with the place lost, the second try would time out instead
            with pytest.raises(RedisConnectionError, match="Error"):
                await pool.get_connection()
    finally:
        await pool.aclose()


async def test_new_connections_read_no_package_metadata(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the installed package's metadata costs about a millisecond: once per pool,
    not once per connection opened under load."""
    pool = WaitingConnectionPool.from_url(redis_url, max_connections=4, client_name="meta-test")
    client = Redis.from_pool(pool)
    read: list[str] = []
    real_version = metadata.version

    def version(name: str) -> str:
        read.append(name)
        return real_version(name)

    monkeypatch.setattr(metadata, "version", version)
    try:
        await asyncio.gather(*(client.blpop(["pbxgram:test:nothing"], 0.05) for _ in range(4)))
        assert read == []
        [info] = [c for c in await client.client_list() if c["name"] == "meta-test"][:1]
        assert info["lib-name"] == "redis-py" and info["lib-ver"] == real_version("redis")
    finally:
        await client.aclose()
