"""Opening the Redis connection the whole app shares.

Use :func:`open_redis` in the composition root: with ``REDIS_URL`` it connects there,
without it it starts :class:`~bot.storage.embedded.EmbeddedRedis` first.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.errors import StorageError
from bot.storage.client import AppRedis
from bot.storage.pool import WaitingConnectionPool

if TYPE_CHECKING:
    from bot.config import Settings

# Connections per process; when all are busy a command waits for one (up to
# POOL_WAIT seconds) instead of failing.
POOL_SIZE = 64
POOL_WAIT = 30.0
CONNECT_TIMEOUT = 5.0
# No timer per command (redis-py's default socket timeout arms two per command, one of
# them a task): a Redis host that is gone is noticed by TCP keepalive instead, after
# about 10 + 3 x 5 seconds of silence. A REDIS_URL with ``?socket_timeout=`` still wins.
KEEPALIVE = {
    option: value
    for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
    if (option := getattr(socket, name, None)) is not None
}


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[Redis]:
    """Yield a connected client; close it (and stop an embedded server) on exit."""
    async with AsyncExitStack() as stack:
        if settings.redis_url is not None:
            url = settings.redis_url.get_secret_value()
        else:
            from bot.storage.embedded import EmbeddedRedis  # only without REDIS_URL

            embedded = EmbeddedRedis(settings.pbxgram_data_dir)
            await stack.enter_async_context(embedded)
            url = embedded.url
        pool = WaitingConnectionPool.from_url(
            url,
            decode_responses=True,
            max_connections=POOL_SIZE,
            timeout=POOL_WAIT,
            socket_timeout=None,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_keepalive=True,
            socket_keepalive_options=KEEPALIVE,
        )
        client: Redis = AppRedis.from_pool(pool)
        stack.push_async_callback(client.aclose)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):  # commands themselves have none
                await client.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            raise StorageError(
                f"Redis is not reachable at the configured REDIS_URL ({exc.__class__.__name__})"
            ) from None
        yield client
