"""Commands sent to a PBX whose results arrive later, matched by ``command_id``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from bot.domain import CommandTicket, utcnow
from bot.storage.keys import Keys

PENDING_TTL = timedelta(days=2)


class PendingCommand(BaseModel):
    """A command in flight and what to do when its result arrives."""

    model_config = ConfigDict(frozen=True)

    ticket: CommandTicket
    context: dict[str, Any] = Field(default_factory=dict)
    sent_at: str = Field(default_factory=lambda: utcnow().isoformat())


class CommandRepository:
    """Remember a command when it is sent; find it again by ``command_id``."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def remember(self, ticket: CommandTicket, **context: Any) -> PendingCommand:
        pending = PendingCommand(ticket=ticket, context=context)
        await self._redis.set(
            self._keys.pending_command(ticket.command_id),
            pending.model_dump_json(),
            ex=PENDING_TTL,
        )
        return pending

    async def get(self, command_id: str) -> PendingCommand | None:
        raw = await self._redis.get(self._keys.pending_command(command_id))
        return PendingCommand.model_validate_json(raw) if raw else None
