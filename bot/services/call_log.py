"""The call log: every finished call, kept for a few weeks, for history, recordings and
reports.

The worker writes an entry each time a finished call's session changes (a late leg, a
recording), so the entry always shows the newest knowledge; writing is idempotent.
Use :meth:`CallLog.recent` for "the last calls with this number / of this person" and
:meth:`CallLog.between` for a period's report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.domain import CallerId, CallNote
from bot.events import Direction
from bot.pipeline.sessions import CallSession
from bot.storage import Keys
from bot.storage.write_batch import WriteBatch

CALL_LOG_RETENTION = timedelta(days=35)
SCAN_BATCH = 50


def call_ref(account: str, call_id: str) -> str:
    """A short stable id for (account, call) that fits in callback data."""
    return hashlib.sha256(f"{account}\n{call_id}".encode()).hexdigest()[:16]


class LoggedCall(BaseModel):
    """One finished call as reports and listings need it."""

    account: str
    call_id: str
    direction: Direction
    client_number: str | None = None
    line_number: str | None = None
    extension: str | None = None  # who talked, else the first extension that rang
    rang: list[str] = []
    answered: bool
    started_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    talk_seconds: int = 0
    recordings: list[str] = []
    caller: CallerId | None = None
    notes: list[CallNote] = []
    tags: list[str] = []
    spam: bool = False  # from a number marked as spam: out of the missed-call figures

    @property
    def ref(self) -> str:
        return call_ref(self.account, self.call_id)

    @property
    def wait_seconds(self) -> int | None:
        """How long the client waited for an answer (answered calls only)."""
        if self.answered_at is None:
            return None
        return max(0, int((self.answered_at - self.started_at).total_seconds()))

    def involves(self, extension: str) -> bool:
        return extension == self.extension or extension in self.rang

    @classmethod
    def of(cls, session: CallSession) -> LoggedCall:
        rang = session.rang
        started = session.started_at or session.ended_at
        assert started is not None, "a finished call has a start"
        return cls(
            account=session.account,
            call_id=session.call_id,
            direction=session.direction,
            client_number=session.client_number,
            line_number=session.line_number,
            extension=session.employee,
            rang=rang,
            answered=bool(session.answered),
            started_at=started,
            answered_at=session.answered_at if session.answered else None,
            ended_at=session.ended_at,
            talk_seconds=session.talk_seconds,
            recordings=list(session.recordings),
            caller=session.caller,
            notes=list(session.notes),
            tags=list(session.tags),
            spam=session.spam,
        )


class CallLog:
    """Store finished calls and read them back by period, person or client number."""

    def __init__(
        self, redis: Redis, keys: Keys, *, retention: timedelta = CALL_LOG_RETENTION
    ) -> None:
        self._redis = redis
        self._keys = keys
        self.retention = retention

    async def record(
        self, session: CallSession, *, batch: WriteBatch | None = None
    ) -> LoggedCall | None:
        """Write (or rewrite) the entry of a finished call; None while it is not finished.
        ``batch``: written with that batch's write (a session's save) instead of now."""
        if not session.finished or (session.started_at or session.ended_at) is None:
            return None
        call = LoggedCall.of(session)
        score = call.started_at.timestamp()
        oldest = score - self.retention.total_seconds()
        indexes = [self._keys.call_log(call.account)]
        indexes += [
            self._keys.call_log_by_extension(call.account, extension)
            for extension in dict.fromkeys(
                [*call.rang, *([call.extension] if call.extension else [])]
            )
        ]
        if call.client_number:
            indexes.append(self._keys.call_log_by_number(call.account, call.client_number))
        entry = call.model_dump_json()

        def write(pipe: Pipeline) -> None:
            pipe.set(
                self._keys.call_log_entry(call.account, call.call_id), entry, ex=self.retention
            )
            pipe.set(
                self._keys.call_ref(call.ref), f"{call.account} {call.call_id}", ex=self.retention
            )
            for index in indexes:
                pipe.zadd(index, {call.call_id: score})
                pipe.zremrangebyscore(index, "-inf", oldest)
                pipe.expire(index, self.retention)

        if batch is not None:
            batch.add(write)
            return call
        async with self._redis.pipeline(transaction=True) as pipe:
            write(pipe)
            await pipe.execute()
        return call

    async def rewrite(self, call: LoggedCall) -> None:
        """Save a changed entry of a call whose session is gone (a late note), for as long
        as the entry was to be kept anyway."""
        await self._redis.set(
            self._keys.call_log_entry(call.account, call.call_id),
            call.model_dump_json(),
            xx=True,
            keepttl=True,
        )

    async def get(self, account: str, call_id: str) -> LoggedCall | None:
        raw = await self._redis.get(self._keys.call_log_entry(account, call_id))
        return LoggedCall.model_validate_json(raw) if raw else None

    async def by_ref(self, ref: str) -> LoggedCall | None:
        """The call a button's short ref points to."""
        found = await self._redis.get(self._keys.call_ref(ref))
        if not found:
            return None
        account, call_id = str(found).split(" ", 1)
        return await self.get(account, call_id)

    async def recent(
        self,
        account: str,
        *,
        extension: str | None = None,
        number: str | None = None,
        since: datetime | None = None,
        limit: int = 20,
    ) -> list[LoggedCall]:
        """Newest first: the account's calls, or those of one extension or client number."""
        if number is not None:
            index = self._keys.call_log_by_number(account, number)
        elif extension is not None:
            index = self._keys.call_log_by_extension(account, extension)
        else:
            index = self._keys.call_log(account)
        low = since.timestamp() if since else "-inf"
        ids = await self._redis.zrevrangebyscore(index, "+inf", low, start=0, num=limit)
        return await self._load(account, ids)

    async def recent_where(
        self,
        account: str,
        keep: Callable[[LoggedCall], bool],
        *,
        extension: str | None = None,
        number: str | None = None,
        since: datetime | None = None,
        limit: int = 10,
        scan: int = 500,
    ) -> list[LoggedCall]:
        """Like :meth:`recent`, but only calls ``keep`` accepts (say, those with a
        recording), looking at no more than ``scan`` of the newest calls."""
        if number is not None:
            index = self._keys.call_log_by_number(account, number)
        elif extension is not None:
            index = self._keys.call_log_by_extension(account, extension)
        else:
            index = self._keys.call_log(account)
        low = since.timestamp() if since else "-inf"
        kept: list[LoggedCall] = []
        for offset in range(0, scan, SCAN_BATCH):
            ids = await self._redis.zrevrangebyscore(
                index, "+inf", low, start=offset, num=min(SCAN_BATCH, scan - offset)
            )
            kept += [call for call in await self._load(account, ids) if keep(call)]
            if len(kept) >= limit or len(ids) < SCAN_BATCH:
                break
        return kept[:limit]

    async def oldest(self, account: str) -> datetime | None:
        """When the oldest call the log still holds for the account started."""
        first = await self._redis.zrange(self._keys.call_log(account), 0, 0, withscores=True)
        return datetime.fromtimestamp(float(first[0][1]), UTC) if first else None

    async def between(self, account: str, start: datetime, end: datetime) -> list[LoggedCall]:
        """Oldest first: every call that started in [start, end)."""
        ids = await self._redis.zrangebyscore(
            self._keys.call_log(account), start.timestamp(), f"({end.timestamp()}"
        )
        return await self._load(account, ids)

    async def _load(self, account: str, ids: Sequence[Any]) -> list[LoggedCall]:
        if not ids:
            return []
        raws = await self._redis.mget([self._keys.call_log_entry(account, str(i)) for i in ids])
        return [LoggedCall.model_validate_json(raw) for raw in raws if raw]
