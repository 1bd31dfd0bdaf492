"""What ``/status`` shows admins: whether Telegram answers, what waits in the queues, and
how each account's webhooks fare. Use :func:`read_status` to gather it in one go.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

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
    silent: bool  # no call event came for longer than its silence_alert_after
    last_event: datetime | None  # when a call event of it was last handled
    log_read: datetime | None  # when its call log was last read for missed calls
    log_recovered: int  # how many calls that read recovered
    # Why the PBX gives no transcripts (its code and the sentence's key), if it said so.
    transcripts_code: str | None = None
    transcripts_reason: str | None = None


@dataclass(frozen=True)
class Status:
    telegram: str  # up, down, connecting, not used (TelegramState.describe)
    events_waiting: int  # PBX events stored but not handled yet
    events_dead: int
    messages_waiting: int  # messages queued for Telegram, in the streams
    messages_later: int  # messages waiting for a later try (a recording being prepared…)
    messages_stalled: int  # messages waiting for Telegram to be reachable again
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
        failing, silent, seen, read, speech = await redis.mget(
            [
                keys.incident("webhooks", account.id),
                keys.incident("silent", account.id),
                keys.last_event(account.id),
                keys.reconciled(account.id),
                keys.transcripts_unavailable(account.id),
            ]
        )
        no_speech = json.loads(speech) if speech else {}
        at, _, recovered = str(read or "").partition(" ")
        rows.append(
            AccountStatus(
                id=account.id,
                pbx=account.display_name(),
                webhooks_failing=failing is not None,
                silent=silent is not None,
                last_event=_moment(str(seen) if seen else None),
                log_read=_moment(at),
                log_recovered=int(recovered or 0),
                transcripts_code=str(no_speech["code"]) if no_speech.get("code") else None,
                transcripts_reason=no_speech.get("message_key"),
            )
        )
    return Status(
        telegram=telegram.describe(),
        events_waiting=events_waiting,
        events_dead=int(await redis.xlen(keys.dead_letters(keys.events_stream()))),
        messages_waiting=messages_waiting,
        messages_later=int(await redis.zcard(keys.outbox_delayed())),
        messages_stalled=int(await redis.zcard(keys.outbox_stalled())),
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


def _moment(seconds: str | None) -> datetime | None:
    return datetime.fromtimestamp(float(seconds), UTC) if seconds else None
