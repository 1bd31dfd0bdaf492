"""Commands a PBX accepts in its answer and reports nothing more on (click-to-call on PBXs
without result callbacks): report them accepted through the events stream, as PBXs with
result callbacks do, so the message that announced the command says the PBX is calling.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from bot.domain import CommandTicket
from bot.events import CommandResultEvent
from bot.pipeline.stream import EventStream
from bot.storage import Keys

ACCEPTED_KEY = "pbx_errors.accepted"


async def report_accepted(
    redis: Redis,
    keys: Keys,
    ticket: CommandTicket,
    provider: str,
    *,
    code: int,
    raw: dict[str, Any] | None = None,
    message_key: str = ACCEPTED_KEY,
) -> None:
    """Queue the result "accepted" (the PBX's own ``code``) for ``ticket``."""
    event = CommandResultEvent(
        account=ticket.account,
        provider=provider,
        raw=raw or {},
        command=ticket.command,
        command_id=ticket.command_id,
        code=code,
        success=True,
        message_key=message_key,
    )
    await EventStream(redis, keys).put([event])
