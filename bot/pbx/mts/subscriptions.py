"""Keeping MTS event notifications flowing: the job from :func:`subscription_jobs`.

Every tick, in the one worker process that runs the job, for each MTS account:

- enables the account's notification service (``/api/service/apicrm`` or ``/webhook``) with
  ``PUBLIC_URL/pbx/{account}/events`` and the callback key, again once a day (which also
  resets the PBX's count of failed deliveries);
- in ``apicrm`` mode, subscribes every linked abonent, renews each subscription before its
  ``expires`` runs out, subscribes again after ``SUBSCRIPTION_TERMINATION`` or a failed
  renewal, and removes the subscriptions of abonents nobody is linked to any more.
  In ``webhook`` mode the PBX keeps the subscriptions itself.

The subscriptions live in Redis (:mod:`bot.pbx.mts.state`), so a restarted process renews
what it had instead of subscribing twice.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from bot.pbx.base import PbxError, PbxRejected, Provider
from bot.pbx.mts.provider import SUBSCRIPTIONS_JOB, MtsProvider
from bot.pbx.mts.redis_keys import MtsKeys
from bot.pbx.mts.state import Subscription, SubscriptionStore
from bot.runtime.jobs import Job
from bot.storage import Keys
from bot.storage.links import LinkRepository

if TYPE_CHECKING:
    from bot.services.incidents import Incidents

log = logging.getLogger(__name__)

DEFAULT_LIFETIME = 3600.0  # section 2: a subscription lives one hour
SERVICE_REFRESH_SECONDS = 24 * 3600


@dataclass(frozen=True)
class KeeperContext:
    """What keeping subscriptions needs besides the provider."""

    redis: Redis
    keys: Keys
    links: LinkRepository
    public_base: str | None  # PUBLIC_URL without a trailing slash; None when it is unset
    incidents: Incidents | None = None


INCIDENT = "mts-subscriptions"  # the admins' incident: subscriptions cannot be kept


def subscription_jobs(
    providers: Iterable[Provider], context: KeeperContext, *, tick: float
) -> list[Job]:
    """One job, in one worker process at a time, that looks after every MTS account each
    ``tick`` seconds; none without an MTS account."""
    keepers = [Keeper(p, context) for p in providers if isinstance(p, MtsProvider)]
    if not keepers:
        return []

    incidents = context.incidents

    async def keep() -> None:
        for keeper in keepers:
            account = keeper.account.id
            try:
                failed = await keeper.tick()
            except PbxError as exc:  # asked again next tick
                log.warning("MTS %s: %s", account, exc)
                failed = 1
            if incidents is None:
                continue
            if failed:
                await incidents.open(INCIDENT, account, "mts_subscriptions_failing")
            else:
                await incidents.close(INCIDENT, account, "mts_subscriptions_renewed")

    return [Job(SUBSCRIPTIONS_JOB, keep, period=tick, once_across_replicas=True)]


class Keeper:
    """One tick of one account."""

    def __init__(self, provider: MtsProvider, context: KeeperContext) -> None:
        self.context = context
        self.provider = provider
        self.account = provider.mts
        self.store = provider.subscriptions or SubscriptionStore(
            context.redis, context.keys, self.account.id
        )

    async def tick(self) -> int:
        """Look after the account once; how many abonents' subscriptions failed."""
        await self.enable_service()
        if self.account.mode == "apicrm":
            return await self.subscribe_linked()
        return 0

    async def enable_service(self) -> None:
        base = self.context.public_base
        if base is None:
            return  # no address the PBX could reach; the operator sets it in the portal
        callback_url = f"{base}/pbx/{self.account.id}/events"
        redis = self.context.redis
        key = MtsKeys.of(self.context.keys, self.account.id).service()
        marker = f"{self.account.mode} {callback_url}"
        if await redis.get(key) == marker:
            return
        await self.provider.client.enable(
            self.account.mode, callback_url, self.account.callback_key.get_secret_value()
        )
        await redis.set(key, marker, ex=SERVICE_REFRESH_SECONDS)
        log.info("MTS %s: %s notifications go to %s", self.account.id, *marker.split(" ", 1))

    async def subscribe_linked(self) -> int:
        """Subscribe linked abonents, renew what expires soon, end what is no longer linked;
        how many abonents could not be subscribed or renewed."""
        links = await self.context.links.of_account(self.account.id)
        abonents = await self.provider.directory.get()
        wanted = {
            abonent.user_id: abonent
            for link in links
            if (abonent := abonents.by_extension.get(link.extension)) is not None
        }
        current = await self.store.all()
        now = time.time()
        failed = 0
        for user_id, abonent in wanted.items():
            subscription = current.get(user_id)
            try:
                if subscription is None or not subscription.alive(now):
                    await self.subscribe(user_id, abonent.extension)
                elif now >= subscription.renew_at():
                    await self.renew(subscription)
            except PbxError as exc:
                log.warning("MTS %s: abonent %s: %s", self.account.id, user_id, exc)
                failed += 1
        for user_id, subscription in current.items():
            if user_id not in wanted:
                await self.unsubscribe(subscription)
        return failed

    async def subscribe(self, user_id: int, extension: str) -> None:
        answer = await self.provider.client.subscribe(user_id)
        await self._save(user_id, extension, answer)

    async def renew(self, subscription: Subscription) -> None:
        try:
            answer = await self.provider.client.renew(
                subscription.abonent_id, subscription.subscription_id
            )
        except PbxRejected:  # gone on the PBX's side: start a new one
            await self.subscribe(subscription.abonent_id, subscription.extension)
            return
        await self._save(subscription.abonent_id, subscription.extension, answer)

    async def unsubscribe(self, subscription: Subscription) -> None:
        with contextlib.suppress(PbxRejected):
            try:
                await self.provider.client.unsubscribe(
                    subscription.abonent_id, subscription.subscription_id
                )
            except PbxError as exc:
                log.warning("MTS %s: unsubscribe failed: %s", self.account.id, exc)
                return
        await self.store.drop(subscription.abonent_id)

    async def _save(self, user_id: int, extension: str, answer: dict[str, object]) -> None:
        expires = answer.get("expires")
        lifetime = float(expires) if isinstance(expires, int | float) and expires > 0 else 0.0
        lifetime = lifetime or DEFAULT_LIFETIME
        await self.store.save(
            Subscription(
                abonent_id=user_id,
                extension=extension,
                subscription_id=str(answer["subscriptionId"]),
                expires_at=time.time() + lifetime,
                lifetime=lifetime,
            )
        )
