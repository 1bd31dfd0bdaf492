"""The app's shared Redis client: no timer per command, a start that fails plainly on a
server that never answers, and a REDIS_URL that can still ask for a socket timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.config import Settings
from bot.errors import StorageError
from bot.storage import connection, open_redis


def settings_for(url: str) -> Settings:
    return Settings(redis_url=SecretStr(url))


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A TCP server that takes connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_blocking_command_longer_than_the_connect_timeout_is_answered(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "CONNECT_TIMEOUT", 0.2)
    async with open_redis(settings_for(redis_url)) as redis:
        pool_kwargs = redis.connection_pool.connection_kwargs
        assert pool_kwargs["socket_timeout"] is None
        assert pool_kwargs["socket_keepalive"] is True
        assert await redis.blpop(["pbxgram:test:nothing"], timeout=0.6) is None


async def test_a_socket_timeout_in_redis_url_still_applies(redis_url: str) -> None:
    separator = "&" if "?" in redis_url else "?"
    async with open_redis(settings_for(f"{redis_url}{separator}socket_timeout=0.2")) as redis:
        with pytest.raises(RedisTimeoutError):
            await redis.blpop(["pbxgram:test:nothing"], timeout=1)


async def test_a_server_that_never_answers_fails_the_start_plainly(
    silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "CONNECT_TIMEOUT", 0.3)
    started = time.monotonic()
    with pytest.raises(StorageError, match="Redis is not reachable") as caught:
        async with open_redis(settings_for(f"redis://:hunter2@127.0.0.1:{silent_port}/0")):
            pass
    assert time.monotonic() - started < 3
    assert "hunter2" not in str(caught.value)
