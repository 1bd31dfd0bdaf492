"""What ``/status`` shows admins: whether Telegram answers, what waits in the queues, and
how each account's webhooks fare. Use :func:`read_status` to gather it in one go.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.accounts import AccountBase
from bot.storage.keys import Keys
from bot.telegram.connection import TelegramState
from bot.telegram.outbox import Outbox

EVENT_WORKERS = "workers"  # the consumer groups of the two streams (bot/app.py)
SENDERS = "senders"


@dataclass(frozen=True)
class AccountStatus:
    id: str
    pbx: str
    webhooks_failing: bool  # its webhooks keep failing verification right now


@dataclass(frozen=True)
class Status:
    telegram: str  # up, down, connecting, not used (TelegramState.describe)
    events_waiting: int  # PBX events stored but not handled yet
    events_dead: int
    messages_waiting: int  # messages queued for Telegram, in the streams
    messages_later: int  # messages waiting for a later try (an outage, a rate limit)
    messages_dead: int
    accounts: tuple[AccountStatus, ...]


async def read_status(
    redis: Redis,
    keys: Keys,
    outbox: Outbox,
    telegram: TelegramState,
    accounts: list[AccountBase],
) -> Status:
    """The state of this deployment as its Redis and this process see it."""
    events_waiting = await _waiting(redis, keys.events_stream(), EVENT_WORKERS)
    messages_waiting = 0
    for stream in outbox.streams():
        messages_waiting += await _waiting(redis, stream, SENDERS)
    rows = []
    for account in accounts:
        failing = bool(await redis.exists(keys.incident("webhooks", account.id)))
        rows.append(AccountStatus(account.id, account.display_name(), failing))
    return Status(
        telegram=telegram.describe(),
        events_waiting=events_waiting,
        events_dead=int(await redis.xlen(keys.dead_letters(keys.events_stream()))),
        messages_waiting=messages_waiting,
        messages_later=int(await redis.zcard(keys.outbox_delayed())),
        messages_dead=int(await redis.xlen(keys.dead_letters(keys.outbox(0)))),
        accounts=tuple(rows),
    )


async def _waiting(redis: Redis, stream: str, group: str) -> int:
    """Entries of ``stream`` that ``group`` has not finished: pending plus not yet read."""
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:  # no such stream yet
        return 0
    for info in groups:
        if info["name"] == group:
            return int(info["pending"]) + int(info.get("lag") or 0)
    return 0
