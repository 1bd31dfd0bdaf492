"""Opening the Redis connection the whole app shares.

Use :func:`open_redis` in the composition root: with ``REDIS_URL`` it connects there,
without it it starts :class:`~bot.storage.embedded.EmbeddedRedis` first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from bot.errors import StorageError

if TYPE_CHECKING:
    from bot.config import Settings

# Connections per process; when all are busy a command waits for one (up to
# POOL_WAIT seconds) instead of failing.
POOL_SIZE = 64
POOL_WAIT = 30.0


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
        pool = BlockingConnectionPool.from_url(
            url, decode_responses=True, max_connections=POOL_SIZE, timeout=POOL_WAIT
        )
        client: Redis = Redis.from_pool(pool)
        stack.push_async_callback(client.aclose)
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            raise StorageError(
                f"Redis is not reachable at the configured REDIS_URL ({exc.__class__.__name__})"
            ) from None
        yield client
