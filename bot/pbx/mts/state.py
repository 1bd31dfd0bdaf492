"""Where the event subscriptions of an MTS account stand, in Redis (one hash per account),
so a restarted process carries on with the subscriptions it had.
"""

from __future__ import annotations

from pydantic import BaseModel
from redis.asyncio import Redis

from bot.pbx.mts.redis_keys import MtsKeys
from bot.storage import Keys


class Subscription(BaseModel):
    """One abonent's subscription: renew it before ``expires_at`` (Unix seconds)."""

    abonent_id: int
    extension: str
    subscription_id: str
    expires_at: float
    lifetime: float  # seconds the PBX granted last time
    terminated: bool = False  # the PBX said SUBSCRIPTION_TERMINATION

    def alive(self, now: float) -> bool:
        """False once the PBX ended it or it expired: only a new subscription helps then."""
        return not self.terminated and self.expires_at > now

    def renew_at(self) -> float:
        """When to renew: ahead of the expiry by a twelfth of the lifetime (five minutes of
        an hour), never less than a second."""
        return self.expires_at - max(1.0, self.lifetime / 12)


class SubscriptionStore:
    """The subscriptions of one account."""

    def __init__(self, redis: Redis, keys: Keys, account: str) -> None:
        self._redis = redis
        self._key = MtsKeys.of(keys, account).subscriptions()

    async def all(self) -> dict[int, Subscription]:
        raw = await self._redis.hgetall(self._key)
        found = (Subscription.model_validate_json(value) for value in raw.values())
        return {sub.abonent_id: sub for sub in found}

    async def save(self, subscription: Subscription) -> None:
        await self._redis.hset(
            self._key, str(subscription.abonent_id), subscription.model_dump_json()
        )

    async def drop(self, abonent_id: int) -> None:
        await self._redis.hdel(self._key, str(abonent_id))

    async def mark_terminated(self, abonent_id: int) -> bool:
        """Remember that the PBX ended this abonent's subscription; False if it had none."""
        raw = await self._redis.hget(self._key, str(abonent_id))
        if raw is None:
            return False
        subscription = Subscription.model_validate_json(raw)
        await self.save(subscription.model_copy(update={"terminated": True}))
        return True
