"""The app's Redis client: redis-py's, with pipelines that cost less per round trip.

Use :class:`AppRedis` where the app builds its shared client (``open_redis`` does). Its
pipelines behave as redis-py's (same commands, answers, errors and retries on a dropped
connection); what they leave out is bookkeeping this app does not use:

- giving the connection back through ``asyncio.shield``, which makes a task of every
  release: the app's pool gives a connection back without awaiting anything, so there
  is nothing a cancellation could interrupt halfway;
- redis-py's operation metrics (OpenTelemetry), which the app does not export.

A pipeline that WATCHes keys, runs registered scripts or opened MULTI itself goes the
library's own way, and so does giving back a connection to any other pool.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.storage.pool import WaitingConnectionPool


class LeanPipeline(Pipeline):
    """A pipeline whose round trip is only the round trip."""

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack = self.command_stack
        if not stack or self.watching or self.scripts or self.explicit_transaction:
            return await super().execute(raise_on_error)
        run = self._execute_transaction if self.is_transaction else self._execute_pipeline
        connection = self.connection or await self.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        self.connection = connection
        try:
            return await connection.retry.call_with_retry(
                lambda: run(connection, stack, raise_on_error),
                lambda error: connection.disconnect(error=error),
            )
        finally:
            await self.reset()

    async def reset(self) -> None:  # type: ignore[override]
        if self.watching or not isinstance(self.connection_pool, WaitingConnectionPool):
            await super().reset()  # type: ignore[no-untyped-call]
            return
        self.command_stack = []
        self.scripts = set()
        self.explicit_transaction = False
        if self.connection is not None:
            connection, self.connection = self.connection, None
            await self.connection_pool.release(connection)


class AppRedis(Redis):
    """redis-py's client whose pipelines are :class:`LeanPipeline`."""

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return LeanPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
