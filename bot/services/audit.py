"""The audit trail: who linked, unlinked, invited, subscribed, marked spam, started a
campaign, replayed a dead letter, revealed the configuration.

Use :class:`AuditLog` wherever such a change is made. Entries live in one Redis stream,
capped by count (``AUDIT_MAX_ENTRIES``) and by age (``AUDIT_RETENTION_DAYS``). An entry
never holds a secret: ``details`` are short plain strings, and names that look like
secrets (token, key, salt, password, code) are left out.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from redis.asyncio import Redis

from bot.storage.keys import Keys

DETAIL_LENGTH = 120  # characters a detail value keeps
SECRET_WORDS = ("token", "key", "salt", "secret", "password", "code", "dsn")
SCAN_BATCH = 200  # entries read at a time while filtering


class AuditEntry(BaseModel):
    """One audited action; ``id`` is its stream id (also what pages go back from)."""

    id: str
    at: datetime
    action: str
    actor: int | str | None = None
    account: str | None = None
    chat: int | None = None
    details: dict[str, str] = {}

    def matches(self, *, actor: int | None, action: str | None) -> bool:
        """By this person, and this action (or an action starting ``action_``)."""
        if actor is not None and self.actor != actor:
            return False
        return action is None or self.action == action or self.action.startswith(f"{action}_")


def safe_details(details: dict[str, str] | None) -> dict[str, str]:
    """``details`` without secret-looking names, each value one short line."""
    kept: dict[str, str] = {}
    for name, value in (details or {}).items():
        if any(word in name.lower() for word in SECRET_WORDS):
            continue
        kept[name] = " ".join(str(value).split())[:DETAIL_LENGTH]
    return kept


class AuditLog:
    """The capped audit stream: :meth:`record`, :meth:`entries` (newest first), :meth:`export`."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        max_entries: int = 100_000,
        retention_days: int = 365,
    ) -> None:
        self.redis = redis
        self.key = keys.audit()
        self.max_entries = max_entries
        self.retention = timedelta(days=retention_days)

    async def record(
        self,
        action: str,
        *,
        actor: int | str | None,
        account: str | None = None,
        chat: int | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        """Add an entry; drop what is over the cap or older than the retention."""
        fields: dict[Any, Any] = {
            "action": action,
            "actor": "" if actor is None else str(actor),
            "account": account or "",
            "chat": "" if chat is None else str(chat),
            "details": json.dumps(safe_details(details), ensure_ascii=False),
        }
        await self.redis.xadd(self.key, fields, maxlen=self.max_entries, approximate=True)
        oldest = datetime.now(UTC) - self.retention
        minid = str(int(oldest.timestamp() * 1000))
        await self.redis.xtrim(self.key, minid=minid, approximate=False)  # exact: few go at once

    async def entries(
        self,
        *,
        actor: int | None = None,
        action: str | None = None,
        before: str | None = None,
        limit: int = 10,
    ) -> list[AuditEntry]:
        """Up to ``limit`` entries, newest first, older than the id ``before`` if given."""
        found: list[AuditEntry] = []
        top = f"({before}" if before else "+"
        while len(found) < limit:
            batch = _rows(await self.redis.xrevrange(self.key, max=top, min="-", count=SCAN_BATCH))
            if not batch:
                break
            for entry_id, fields in batch:
                entry = _entry(entry_id, fields)
                if entry.matches(actor=actor, action=action):
                    found.append(entry)
                    if len(found) == limit:
                        break
            top = f"({batch[-1][0]}"
        return found

    async def export(self, since: datetime | None = None) -> AsyncIterator[AuditEntry]:
        """Every entry from ``since`` on (all when None), oldest first."""
        low = "-" if since is None else str(int(since.timestamp() * 1000))
        while True:
            batch = _rows(await self.redis.xrange(self.key, min=low, max="+", count=SCAN_BATCH))
            for entry_id, fields in batch:
                yield _entry(entry_id, fields)
            if len(batch) < SCAN_BATCH:
                return
            low = f"({batch[-1][0]}"


def _rows(raw: Any) -> list[tuple[str, dict[str, str]]]:
    """Stream entries as text (the client decodes, or not)."""
    rows: list[tuple[str, dict[str, str]]] = []
    for entry_id, fields in raw or []:
        rows.append((_text(entry_id), {_text(k): _text(v) for k, v in (fields or {}).items()}))
    return rows


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entry(entry_id: str, fields: dict[str, str]) -> AuditEntry:
    actor = fields.get("actor") or None
    chat = fields.get("chat") or None
    return AuditEntry(
        id=entry_id,
        at=datetime.fromtimestamp(int(entry_id.split("-")[0]) / 1000, UTC),
        action=fields.get("action", ""),
        actor=int(actor) if actor is not None and actor.lstrip("-").isdigit() else actor,
        account=fields.get("account") or None,
        chat=int(chat) if chat is not None else None,
        details=json.loads(fields.get("details") or "{}"),
    )
