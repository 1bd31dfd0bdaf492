"""The abonents of an MTS account: portal ids, extensions, names and numbers.

Events name abonents by their portal id (``abonentId``) and people are linked by
extension, so both directions are needed everywhere. Use :class:`AbonentDirectory`: it keeps
the last answer of ``GET /api/abonents`` in memory and in Redis (shared by every process for
a few minutes) and asks the PBX again when it is older, or when an id it does not know
shows up (at most once in ``REFRESH_MISSING_AFTER`` seconds).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from bot.domain import Employee
from bot.phones import normalise

CACHE_SECONDS = 600
REFRESH_MISSING_AFTER = 30.0


class Abonent(BaseModel):
    """One abonent as ``GET /api/abonents`` lists it (section 4.4)."""

    model_config = ConfigDict(frozen=True)

    user_id: int
    extension: str = ""
    first_name: str = ""
    last_name: str = ""
    phone_number: str = ""
    calling_line_id: str = ""
    group_id: int | None = None
    department: str = ""
    email: str = ""

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Abonent | None:
        try:
            user_id = int(item["userId"])
        except (KeyError, TypeError, ValueError):
            return None
        group = item.get("groupId")
        return cls(
            user_id=user_id,
            extension=str(item.get("extension") or ""),
            first_name=str(item.get("firstName") or ""),
            # The doc spells it lastname in the sample and lastName in the field list.
            last_name=str(item.get("lastName") or item.get("lastname") or ""),
            phone_number=str(item.get("phoneNumber") or ""),
            calling_line_id=str(item.get("callingLineIdPhoneNumber") or ""),
            group_id=int(group) if isinstance(group, int) else None,
            department=str(item.get("department") or ""),
            email=str(item.get("email") or ""),
        )

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def employee(self, account: str, region: str) -> Employee:
        phones = (normalise(self.phone_number, region),) if self.phone_number else ()
        return Employee(
            account=account,
            extension=self.extension,
            name=self.name,
            phones=tuple(p for p in phones if p),
        )


class Abonents:
    """A snapshot of the directory with lookups both ways."""

    def __init__(self, abonents: list[Abonent]) -> None:
        self.all = abonents
        self.by_id = {a.user_id: a for a in abonents}
        self.by_extension = {a.extension: a for a in abonents if a.extension}
        self._by_number = {
            number[-10:]: a
            for a in abonents
            for number in (_digits(a.calling_line_id), _digits(a.phone_number))
            if len(number) >= 10
        }

    def by_address(self, address: str) -> Abonent | None:
        """The abonent reached at ``address``: an extension or one of their own numbers."""
        if address in self.by_extension:
            return self.by_extension[address]
        digits = _digits(address)
        return self._by_number.get(digits[-10:]) if len(digits) >= 10 else None


Fetch = Callable[[], Awaitable[list[dict[str, Any]]]]


class AbonentDirectory:
    """The account's abonents, cached; ``redis`` may be None (memory only)."""

    def __init__(self, account: str, fetch: Fetch, redis: Redis | None, key: str) -> None:
        self._account = account
        self._fetch = fetch
        self._redis = redis
        self._key = key
        self._snapshot = Abonents([])
        self._loaded_at = 0.0
        self._missing_checked_at = 0.0
        self._loading: asyncio.Task[Abonents] | None = None

    @property
    def snapshot(self) -> Abonents:
        """What is known now, without asking anyone (may be empty or a few minutes old)."""
        return self._snapshot

    async def get(self, *, fresh: bool = False) -> Abonents:
        """The directory; ``fresh`` asks the PBX even when the cache is young."""
        if not fresh and time.monotonic() - self._loaded_at < CACHE_SECONDS and self._loaded_at:
            return self._snapshot
        if not fresh and self._redis is not None:
            cached = await self._redis.get(self._key)
            if cached:
                return self._keep(json.loads(cached))
        return await self._load()

    async def knowing(self, user_ids: set[int]) -> Abonents:
        """The directory, asked again when one of ``user_ids`` is missing from it (at most
        every ``REFRESH_MISSING_AFTER`` seconds: new abonents appear, old ids do not)."""
        snapshot = await self.get()
        if user_ids <= snapshot.by_id.keys():
            return snapshot
        if time.monotonic() - self._missing_checked_at < REFRESH_MISSING_AFTER:
            return snapshot
        self._missing_checked_at = time.monotonic()
        return await self._load()

    async def _load(self) -> Abonents:
        if self._loading is None:
            self._loading = asyncio.create_task(self._fetch_and_store())
            self._loading.add_done_callback(lambda _: setattr(self, "_loading", None))
        return await asyncio.shield(self._loading)

    async def _fetch_and_store(self) -> Abonents:
        items = await self._fetch()
        if self._redis is not None:
            await self._redis.set(self._key, json.dumps(items), ex=CACHE_SECONDS)
        return self._keep(items)

    def _keep(self, items: list[dict[str, Any]]) -> Abonents:
        abonents = [a for a in (Abonent.from_api(item) for item in items) if a is not None]
        self._snapshot = Abonents(abonents)
        self._loaded_at = time.monotonic()
        return self._snapshot


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())
