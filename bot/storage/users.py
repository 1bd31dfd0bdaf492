"""Users and their roles and languages."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.domain import Language, Role, User
from bot.storage.keys import Keys
from bot.storage.local_cache import Invalidations, LocalCache


class UserRepository:
    """Read and write :class:`~bot.domain.User` records (kept in the process while
    ``invalidations`` listens: users are read for every message and rarely change)."""

    def __init__(
        self, redis: Redis, keys: Keys, invalidations: Invalidations | None = None
    ) -> None:
        self._redis = redis
        self._keys = keys
        # Without a listener of its own it still announces its changes to the others.
        self._changes = invalidations or Invalidations(redis)
        self._copies: LocalCache[int, User | None] = self._changes.cache()

    async def get(self, telegram_id: int) -> User | None:
        kept, user = self._copies.get(telegram_id)
        if kept:
            return user
        generation = self._changes.generation
        raw = await self._redis.get(self._keys.user(telegram_id))
        user = User.model_validate_json(raw) if raw else None
        self._copies.keep(telegram_id, user, generation)
        return user

    async def save(self, user: User) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.user(user.telegram_id), user.model_dump_json())
            pipe.sadd(self._keys.users_index(), str(user.telegram_id))
            self._changes.published(pipe)
            await pipe.execute()

    async def touch(
        self,
        telegram_id: int,
        first_name: str,
        username: str | None,
        language_code: str | None = None,
    ) -> User:
        """The stored user with a fresh name and app language, created when new."""
        user = await self.get(telegram_id)
        fresh = User(
            telegram_id=telegram_id,
            first_name=first_name,
            username=username,
            telegram_language=language_code,
        )
        if user is None:
            user = fresh
        elif (user.first_name, user.username, user.telegram_language) == (
            first_name,
            username,
            language_code,
        ):
            return user
        else:
            user = user.model_copy(
                update={
                    "first_name": first_name,
                    "username": username,
                    "telegram_language": language_code,
                }
            )
        await self.save(user)
        return user

    async def set_role(self, telegram_id: int, role: Role | None) -> User:
        user = await self.get(telegram_id) or User(telegram_id=telegram_id)
        user = user.model_copy(update={"role": role})
        await self.save(user)
        return user

    async def set_language(self, telegram_id: int, language: Language) -> User:
        user = await self.get(telegram_id) or User(telegram_id=telegram_id)
        user = user.model_copy(update={"language": language})
        await self.save(user)
        return user

    async def set_active(self, telegram_id: int, *, active: bool) -> None:
        """Mark whether the person still accepts messages (False once they blocked the bot)."""
        user = await self.get(telegram_id)
        if user is not None and user.active != active:
            await self.save(user.model_copy(update={"active": active}))

    async def all(self) -> list[User]:
        """Every known user, by telegram id."""
        ids = sorted(int(i) for i in await self._redis.smembers(self._keys.users_index()))
        if not ids:
            return []
        raws = await self._redis.mget([self._keys.user(i) for i in ids])
        return [User.model_validate_json(raw) for raw in raws if raw]
