"""``pbxgram audit export [--since YYYY-MM-DD]``, and recording what the command line does.

The export is JSON lines on stdout, oldest first. :func:`record_best_effort` records an
entry for a command that must work without Redis (``check-config --reveal``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

CLI_ACTOR = "cli"
CONNECT_TIMEOUT = 2.0  # seconds check-config waits for Redis before leaving it out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``audit`` actions and their options."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export", help="every audit entry as JSON lines on stdout, oldest first"
    )
    export.add_argument("--since", type=_day, help="only entries from this UTC day on, YYYY-MM-DD")


def _day(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date such as 2026-01-31, not {value!r}"
        ) from None


async def export(settings: Settings, since: datetime | None, write: Callable[[str], None]) -> int:
    """Write each entry as one JSON line; how many were written."""
    from bot.services.audit import AuditLog
    from bot.storage import Keys, open_redis

    written = 0
    async with open_redis(settings) as redis:
        async for entry in AuditLog(redis, Keys()).export(since):
            write(entry.model_dump_json())
            written += 1
    return written


async def record_best_effort(
    settings: Settings, action: str, details: dict[str, str] | None = None
) -> str | None:
    """Record ``action`` by the command line where ``REDIS_URL`` answers at once; None when
    recorded, else why not (one line to print). No embedded server is started for it."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from bot.services.audit import AuditLog
    from bot.storage import Keys

    if settings.redis_url is None:
        return "not recorded in the audit trail: REDIS_URL is not set"
    redis: Redis = Redis.from_url(
        settings.redis_url.get_secret_value(),
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=CONNECT_TIMEOUT,
    )
    try:
        audit = AuditLog(
            redis,
            Keys(),
            max_entries=settings.audit_max_entries,
            retention_days=settings.audit_retention_days,
        )
        await audit.record(action, actor=CLI_ACTOR, details=details)
    except (RedisError, OSError) as exc:
        return f"not recorded in the audit trail: Redis is not reachable ({type(exc).__name__})"
    finally:
        await redis.aclose()
    return None
