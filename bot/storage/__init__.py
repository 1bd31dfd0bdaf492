"""Redis storage: connection, typed keys and repositories."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from bot.storage.commands import CommandRepository
from bot.storage.connection import open_redis
from bot.storage.invites import ApprovalRepository, InviteRepository
from bot.storage.keys import Keys
from bot.storage.links import LinkRepository
from bot.storage.local_cache import Invalidations
from bot.storage.subscriptions import SubscriptionRepository
from bot.storage.users import UserRepository


@dataclass(frozen=True)
class Repositories:
    """Every repository over one Redis client; handlers receive it as ``repos``."""

    users: UserRepository
    links: LinkRepository
    subscriptions: SubscriptionRepository
    invites: InviteRepository
    approvals: ApprovalRepository
    commands: CommandRepository

    @classmethod
    def over(
        cls, redis: Redis, keys: Keys | None = None, invalidations: Invalidations | None = None
    ) -> Repositories:
        """Repositories over ``redis``; with ``invalidations`` (listened to by the process)
        people and links are kept in the process between changes."""
        keys = keys or Keys()
        return cls(
            users=UserRepository(redis, keys, invalidations),
            links=LinkRepository(redis, keys, invalidations),
            subscriptions=SubscriptionRepository(redis, keys, invalidations),
            invites=InviteRepository(redis, keys),
            approvals=ApprovalRepository(redis, keys),
            commands=CommandRepository(redis, keys),
        )


__all__ = ["Invalidations", "Keys", "Repositories", "open_redis"]
