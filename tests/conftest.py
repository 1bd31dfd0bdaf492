"""Shared fixtures: a real Redis (REDIS_URL, or an embedded server) and settings builders."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bot.config import Settings
from bot.storage.embedded import EmbeddedRedis


@pytest_asyncio.fixture(scope="session")
async def redis_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """``REDIS_URL`` when set (a throwaway database: tests flush it), else an embedded server."""
    external = os.environ.get("REDIS_URL")
    if external:
        yield external
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client on an empty database."""
    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


MANGO_ACCOUNT: dict[str, Any] = {
    "id": "main",
    "provider": "mango",
    "api_key": "test-api-key",
    "api_salt": "test-api-salt",
}


@pytest.fixture
def make_settings(redis_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Build Settings for a test: Redis from the fixture, web on a free port, one MANGO account."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "redis_url": redis_url,
            "web_port": 0,
            "pbxgram_data_dir": tmp_path / "data",
            "accounts": [MANGO_ACCOUNT],
        }
        values.update(overrides)
        return Settings(**values)

    return build


pytest_plugins = ["tests.deadline"]
