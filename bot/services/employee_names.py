"""Employee names for cards and alerts, from the PBX directory, cached for a few minutes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from bot.pbx.base import PbxError
from bot.pbx.providers import Providers
from bot.storage import Keys

CACHE_SECONDS = 600
MEMO_SECONDS = 5.0  # this process reuses what it read from Redis for this long
FAILED_CACHE_SECONDS = 60  # a PBX that could not answer is asked again after this

Fetch = Callable[[], Awaitable[dict[str, str]]]


class DirectoryCache:
    """Extension → employee name per account; a PBX that cannot answer gives no names.

    Directory requests are rate limited (some PBXs allow one every two seconds), so call cards must
    never queue for them: lookups that miss the cache at the same time share one request,
    and a failed request is remembered for a minute like an empty directory.
    """

    def __init__(self, redis: Redis, keys: Keys, providers: Providers) -> None:
        self._redis = redis
        self._keys = keys
        self._providers = providers
        self._loading: dict[str, asyncio.Task[dict[str, str]]] = {}
        self._memo: dict[str, tuple[float, dict[str, str]]] = {}

    async def names(self, account: str) -> dict[str, str]:
        return await self._cached(
            self._keys.directory(account), lambda: self._employees(account, users=False)
        )

    async def user_extensions(self, account: str) -> dict[str, str]:
        """The PBX's user id → extension, where the PBX's directory gives user ids."""
        return await self._cached(
            self._users_key(account), lambda: self._employees(account, users=True)
        )

    def _users_key(self, account: str) -> str:
        return self._keys.directory(account) + ":users"

    async def _employees(self, account: str, *, users: bool) -> dict[str, str]:
        """One directory request fills both caches, names and user ids (the PBX allows
        few such requests); the one asked for is returned."""
        provider = self._providers.get(account)
        employees = await provider.list_employees() if provider else []
        names = {e.extension: e.name for e in employees if e.name}
        by_user = {e.user_id: e.extension for e in employees if e.user_id}
        other_key = self._keys.directory(account) if users else self._users_key(account)
        await self._redis.set(other_key, json.dumps(names if users else by_user), ex=CACHE_SECONDS)
        return by_user if users else names

    async def group_names(self, account: str) -> dict[str, str]:
        """Group extension → group name, where the PBX lists its groups."""

        async def fetch() -> dict[str, str]:
            provider = self._providers.get(account)
            listed = await provider.list_groups() if provider else []
            return {g.extension: g.name for g in listed if g.extension and g.name}

        return await self._cached(self._keys.directory(account) + ":groups", fetch)

    async def _cached(self, key: str, fetch: Fetch) -> dict[str, str]:
        memo = self._memo.get(key)
        if memo is not None and memo[0] > time.monotonic():
            return memo[1]  # every card asks: no Redis read (and JSON parse) each time
        cached = await self._redis.get(key)
        if cached:
            found: dict[str, str] = json.loads(cached)
            self._memo[key] = (time.monotonic() + MEMO_SECONDS, found)
            return found
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.create_task(self._load(key, fetch))
            self._loading[key] = loading
            loading.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(loading)

    async def _load(self, key: str, fetch: Fetch) -> dict[str, str]:
        try:
            found, ttl = await fetch(), CACHE_SECONDS
        except PbxError:
            found, ttl = {}, FAILED_CACHE_SECONDS
        await self._redis.set(key, json.dumps(found), ex=ttl)
        return found
