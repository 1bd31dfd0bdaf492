"""Which group chats follow what (missed calls, summaries, recordings, digest) of which account."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain import Language, SubscriptionKind
from bot.storage.keys import Keys
from bot.storage.local_cache import Invalidations, LocalCache


class SubscriptionRepository:
    """Group-chat subscriptions, indexed both by chat and by (account, kind). Who follows
    what and a group's language are read for every call and kept in the process while
    ``invalidations`` listens."""

    def __init__(
        self, redis: Redis, keys: Keys, invalidations: Invalidations | None = None
    ) -> None:
        self._redis = redis
        self._keys = keys
        # Without a listener of its own it still announces its changes to the others.
        self._changes = invalidations or Invalidations(redis)
        self._followers: LocalCache[tuple[str, SubscriptionKind], list[int]] = self._changes.cache()
        self._languages: LocalCache[int, Language | None] = self._changes.cache()

    async def subscribe(self, chat_id: int, account: str, kind: SubscriptionKind) -> bool:
        """Add; False when the chat already followed it."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(self._keys.chat_subscriptions(chat_id), f"{kind.value}:{account}")
            pipe.sadd(self._keys.subscribers(account, kind.value), str(chat_id))
            self._changes.published(pipe)
            added, *_ = await pipe.execute()
        return bool(added)

    async def unsubscribe(self, chat_id: int, account: str, kind: SubscriptionKind) -> bool:
        """Remove; False when the chat did not follow it."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.srem(self._keys.chat_subscriptions(chat_id), f"{kind.value}:{account}")
            pipe.srem(self._keys.subscribers(account, kind.value), str(chat_id))
            self._changes.published(pipe)
            removed, *_ = await pipe.execute()
        return bool(removed)

    async def of_chat(self, chat_id: int) -> list[tuple[SubscriptionKind, str]]:
        """(kind, account) pairs the chat follows, sorted."""
        entries = await self._redis.smembers(self._keys.chat_subscriptions(chat_id))
        pairs = [str(entry).split(":", 1) for entry in entries]
        return sorted((SubscriptionKind(kind), account) for kind, account in pairs)

    async def chats(self, account: str, kind: SubscriptionKind) -> list[int]:
        """Chat ids following ``kind`` of ``account``."""
        kept, chats = self._followers.get((account, kind))
        if kept and chats is not None:
            return list(chats)
        generation = self._changes.generation
        members = await self._redis.smembers(self._keys.subscribers(account, kind.value))
        chats = sorted(int(m) for m in members)
        self._followers.keep((account, kind), chats, generation)
        return list(chats)

    async def language(self, chat_id: int) -> Language | None:
        """The language a group chat is written to in, once an admin set it up."""
        kept, language = self._languages.get(chat_id)
        if kept:
            return language
        generation = self._changes.generation
        raw = await self._redis.get(self._keys.chat_language(chat_id))
        language = Language(raw) if raw in {lang.value for lang in Language} else None
        self._languages.keep(chat_id, language, generation)
        return language

    async def set_language(self, chat_id: int, language: Language) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.chat_language(chat_id), language.value)
            self._changes.published(pipe)
            await pipe.execute()

    async def forget_chat(self, chat_id: int) -> None:
        """Drop every subscription of a chat the bot has left."""
        for kind, account in await self.of_chat(chat_id):
            await self.unsubscribe(chat_id, account, kind)
