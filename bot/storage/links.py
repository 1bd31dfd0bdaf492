"""Links between Telegram users and PBX extensions (one user per extension)."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain import Link
from bot.storage.keys import Keys
from bot.storage.local_cache import Invalidations, LocalCache


class LinkRepository:
    """Who acts as which extension; both directions are kept in one transaction (and who
    has an extension is kept in the process while ``invalidations`` listens)."""

    def __init__(
        self, redis: Redis, keys: Keys, invalidations: Invalidations | None = None
    ) -> None:
        self._redis = redis
        self._keys = keys
        # Without a listener of its own it still announces its changes to the others.
        self._changes = invalidations or Invalidations(redis)
        self._copies: LocalCache[tuple[str, str], Link | None] = self._changes.cache()

    async def link(self, account: str, extension: str, telegram_id: int) -> Link | None:
        """Link the user; return the link it replaced for that extension, if another user had it."""
        previous = await self.by_extension(account, extension)
        raw_old = await self._redis.hget(self._keys.user_links(telegram_id), account)
        old_extension = None if raw_old is None else str(raw_old)
        async with self._redis.pipeline(transaction=True) as pipe:
            if previous is not None and previous.telegram_id != telegram_id:
                pipe.hdel(self._keys.user_links(previous.telegram_id), account)
            if old_extension is not None and old_extension != extension:
                pipe.delete(self._keys.extension(account, old_extension))
                pipe.hdel(self._keys.account_links(account), old_extension)
            pipe.set(self._keys.extension(account, extension), str(telegram_id))
            pipe.hset(self._keys.account_links(account), extension, str(telegram_id))
            pipe.hset(self._keys.user_links(telegram_id), account, extension)
            self._changes.published(pipe)
            await pipe.execute()
        if previous is not None and previous.telegram_id != telegram_id:
            return previous
        return None

    async def unlink(self, telegram_id: int, account: str | None = None) -> list[Link]:
        """Remove the user's links (all, or the one for ``account``); return what was removed."""
        links = await self.of_user(telegram_id)
        removed = [link for link in links if account is None or link.account == account]
        if not removed:
            return []
        async with self._redis.pipeline(transaction=True) as pipe:
            for link in removed:
                pipe.delete(self._keys.extension(link.account, link.extension))
                pipe.hdel(self._keys.account_links(link.account), link.extension)
                pipe.hdel(self._keys.user_links(telegram_id), link.account)
            self._changes.published(pipe)
            await pipe.execute()
        return removed

    async def of_user(self, telegram_id: int) -> list[Link]:
        mapping = await self._redis.hgetall(self._keys.user_links(telegram_id))
        return [
            Link(account=account, extension=extension, telegram_id=telegram_id)
            for account, extension in sorted(mapping.items())
        ]

    async def by_extension(self, account: str, extension: str) -> Link | None:
        kept, link = self._copies.get((account, extension))
        if kept:
            return link
        generation = self._changes.generation
        link = await self._by_extension(account, extension)
        self._copies.keep((account, extension), link, generation)
        return link

    async def _by_extension(self, account: str, extension: str) -> Link | None:
        raw = await self._redis.get(self._keys.extension(account, extension))
        if raw is None:
            return None
        return Link(account=account, extension=extension, telegram_id=int(raw))

    async def of_account(self, account: str) -> list[Link]:
        mapping = await self._redis.hgetall(self._keys.account_links(account))
        return [
            Link(account=account, extension=extension, telegram_id=int(tid))
            for extension, tid in sorted(mapping.items())
        ]
