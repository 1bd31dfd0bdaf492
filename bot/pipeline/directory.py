"""Employee names for cards and alerts, from the PBX directory, cached for a few minutes."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from bot.pbx.base import PbxError
from bot.pbx.registry import Providers
from bot.storage import Keys

CACHE_SECONDS = 600


class DirectoryCache:
    """Extension → employee name per account; a PBX that cannot answer gives no names."""

    def __init__(self, redis: Redis, keys: Keys, providers: Providers) -> None:
        self._redis = redis
        self._keys = keys
        self._providers = providers

    async def names(self, account: str) -> dict[str, str]:
        key = self._keys.directory(account)
        cached = await self._redis.get(key)
        if cached:
            names: dict[str, str] = json.loads(cached)
            return names
        provider = self._providers.get(account)
        if provider is None:
            return {}
        try:
            employees = await provider.list_employees()
        except PbxError:
            return {}
        names = {e.extension: e.name for e in employees if e.name}
        await self._redis.set(key, json.dumps(names), ex=CACHE_SECONDS)
        return names

    async def group_names(self, account: str) -> dict[str, str]:
        """Group extension → group name, where the PBX lists its groups."""
        key = self._keys.directory(account) + ":groups"
        cached = await self._redis.get(key)
        if cached:
            groups: dict[str, str] = json.loads(cached)
            return groups
        provider = self._providers.get(account)
        try:
            listed = await provider.list_groups() if provider else []
        except PbxError:
            listed = []
        groups = {g.extension: g.name for g in listed if g.extension and g.name}
        await self._redis.set(key, json.dumps(groups), ex=CACHE_SECONDS)
        return groups
