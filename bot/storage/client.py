"""The app's Redis client: redis-py's, with commands and pipelines that cost less per
round trip.

Use :class:`AppRedis` where the app builds its shared client (``open_redis`` does). Its
commands and pipelines behave as redis-py's (same commands, answers, errors and retries
on a dropped connection); what they leave out is bookkeeping this app does not use:

- giving the connection back through ``asyncio.shield``, which makes a task of every
  release: the app's pool gives a connection back without awaiting anything, so there
  is nothing a cancellation could interrupt halfway;
- redis-py's operation metrics (OpenTelemetry), which the app does not export;
- for a single command, the checks for features the app does not use (a client bound to
  one connection, ``HIMPORT``'s per-connection state).

A pipeline that WATCHes keys, runs registered scripts or opened MULTI itself goes the
library's own way, and so does a command of a client bound to one connection, an
``HIMPORT``, and anything given a connection of another pool. Commands and plain
pipelines that answer at once go over the pool's shared connection when it has one
(:mod:`bot.storage.multiplexed`), and the pool's way when it is lost.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.connection import AbstractConnection, Connection
from redis.client import NEVER_DECODE
from redis.exceptions import ResponseError

from bot.storage.multiplexed import Lost, Multiplexed, answer, shareable
from bot.storage.packing import NAMES_KEPT, pack_one
from bot.storage.pool import WaitingConnectionPool


class LeanPipeline(Pipeline):
    """A pipeline whose round trip is only the round trip."""

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack = self.command_stack
        if (
            not stack
            or self.watching
            or self.scripts
            or self.explicit_transaction
            or any(_is_himport(args[0]) for args, _ in stack)
        ):
            return await super().execute(raise_on_error)
        shared = _shared(self.connection_pool)
        if (
            shared is not None
            and not self.is_transaction
            and self.connection is None
            and all(NEVER_DECODE not in options and shareable(args) for args, options in stack)
        ):
            try:
                return await self._ask_shared(shared, stack, raise_on_error)
            except Lost:
                pass  # the pool's way, as if the shared connection had never been asked
        run = self._execute_transaction if self.is_transaction else self._send_all
        connection = self.connection or await self.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        self.connection = connection
        try:
            return await connection.retry.call_with_retry(
                lambda: run(connection, stack, raise_on_error),
                lambda error: connection.disconnect(error=error),
            )
        finally:
            await self.reset()

    async def _ask_shared(
        self, shared: Multiplexed, commands: list[Any], raise_on_error: bool
    ) -> list[Any]:
        """The pipeline over the pool's shared connection: one write, every answer."""
        packed = b"".join([pack_one(tuple(args)) for args, _ in commands])
        raws = await shared.ask(packed, len(commands))
        answers: list[Any] = []
        try:
            for (args, options), raw in zip(commands, raws, strict=True):
                try:
                    answered = answer(self.response_callbacks, args[0], raw, options)
                    if inspect.isawaitable(answered):  # as redis-py does
                        answered = await answered
                    answers.append(answered)
                except ResponseError as error:
                    answers.append(error)
            if raise_on_error:
                self.raise_first_error(commands, answers)
            return answers
        finally:
            await self.reset()

    async def _send_all(
        self, connection: Connection, commands: list[Any], raise_on_error: bool
    ) -> list[Any]:
        """redis-py's ``_execute_pipeline`` less what only ``HIMPORT`` needs: one write,
        then every answer read, so the connection is never left out of step."""
        await connection.send_packed_command(connection.pack_commands([a for a, _ in commands]))
        answers: list[Any] = []
        for args, options in commands:
            try:
                answers.append(await self.parse_response(connection, args[0], **options))
            except ResponseError as error:
                answers.append(error)
        if raise_on_error:
            self.raise_first_error(commands, answers)
        return answers

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
    """redis-py's client whose commands and pipelines make only their round trip."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        pool = self.connection_pool
        if (
            self.connection is not None
            or self.single_connection_client
            or not isinstance(pool, WaitingConnectionPool)
            or _is_himport(args[0])
        ):
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        shared = _shared(pool)
        if shared is not None and NEVER_DECODE not in options and shareable(args):
            try:
                [raw] = await shared.ask(pack_one(args), 1)
                answered = answer(self.response_callbacks, args[0], raw, options)
            except Lost:
                pass  # the pool's way, as if the shared connection had never been asked
            else:
                return await answered if inspect.isawaitable(answered) else answered
        connection = await pool.get_connection()
        try:
            return await connection.retry.call_with_retry(
                lambda: self._ask(connection, args, options),
                lambda error: connection.disconnect(error=error),
            )
        finally:
            await pool.release(connection)

    async def _ask(
        self, connection: AbstractConnection, args: tuple[Any, ...], options: dict[str, Any]
    ) -> Any:
        """Send one command and read its answer (``options`` as redis-py's parsing takes
        them, copied: it removes what it used)."""
        await connection.send_command(*args)
        return await self.parse_response(connection, args[0], **options)  # type: ignore[arg-type]

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return LeanPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


def _shared(pool: Any) -> Multiplexed | None:
    """The pool's shared connection, when there is one to use now."""
    if not isinstance(pool, WaitingConnectionPool):
        return None
    shared = pool.shared
    return shared if shared is not None and shared.usable else None


@lru_cache(maxsize=NAMES_KEPT)
def _is_himport(name: str | bytes) -> bool:
    """``HIMPORT ...``: a command whose wire form depends on the connection's state (the
    answer for each command name is worked out once)."""
    head = name[:7].upper()
    return head == (b"HIMPORT" if isinstance(head, bytes) else "HIMPORT")
