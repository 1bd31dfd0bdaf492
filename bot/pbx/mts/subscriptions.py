"""Keeping MTS event notifications flowing: the periodic job :func:`keep_subscriptions`.

Every tick, the one replica holding the Redis lock, for each MTS account:

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

import asyncio
import contextlib
import logging
import time
import uuid
from typing import TYPE_CHECKING

from bot.pbx.base import PbxError, PbxRejected
from bot.pbx.mts.provider import MtsProvider
from bot.pbx.mts.redis_keys import MtsKeys
from bot.pbx.mts.state import Subscription, SubscriptionStore

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

DEFAULT_LIFETIME = 3600.0  # section 2: a subscription lives one hour
SERVICE_REFRESH_SECONDS = 24 * 3600


async def keep_subscriptions(app: App, stop: asyncio.Event) -> None:
    """Run until ``stop``: one tick every ``app.tuning.mts_tick`` seconds."""
    providers = [p for p in app.providers if isinstance(p, MtsProvider)]
    if not providers:
        return
    token = uuid.uuid4().hex
    tick = app.tuning.mts_tick
    try:
        while not stop.is_set():
            try:
                if await _hold_lock(app, token, max(10.0, tick * 3)):
                    for provider in providers:
                        try:
                            await Keeper(app, provider).tick()
                        except PbxError as exc:  # asked again next tick
                            log.warning("MTS %s: %s", provider.account.id, exc)
            except Exception:
                log.exception("could not keep MTS subscriptions")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), tick)
    finally:
        with contextlib.suppress(Exception):
            if await app.redis.get(MtsKeys.lock(app.keys)) == token:
                await app.redis.delete(MtsKeys.lock(app.keys))


async def _hold_lock(app: App, token: str, ttl: float) -> bool:
    """Take the lock, or keep it when it is already ours."""
    key = MtsKeys.lock(app.keys)
    ms = int(ttl * 1000)
    if await app.redis.set(key, token, nx=True, px=ms):
        return True
    if await app.redis.get(key) == token:
        await app.redis.pexpire(key, ms)
        return True
    return False


class Keeper:
    """One tick of one account."""

    def __init__(self, app: App, provider: MtsProvider) -> None:
        self.app = app
        self.provider = provider
        self.account = provider.mts
        self.store = provider.subscriptions or SubscriptionStore(
            app.redis, app.keys, self.account.id
        )

    async def tick(self) -> None:
        await self.enable_service()
        if self.account.mode == "apicrm":
            await self.subscribe_linked()

    def callback_url(self) -> str:
        return f"{self.app.settings.public_base()}/pbx/{self.account.id}/events"

    async def enable_service(self) -> None:
        if self.app.settings.public_url is None:
            return  # no address the PBX could reach; the operator sets it in the portal
        key = MtsKeys.of(self.app.keys, self.account.id).service()
        marker = f"{self.account.mode} {self.callback_url()}"
        if await self.app.redis.get(key) == marker:
            return
        await self.provider.client.enable(
            self.account.mode, self.callback_url(), self.account.callback_key.get_secret_value()
        )
        await self.app.redis.set(key, marker, ex=SERVICE_REFRESH_SECONDS)
        log.info("MTS %s: %s notifications go to %s", self.account.id, *marker.split(" ", 1))

    async def subscribe_linked(self) -> None:
        links = await self.app.repos.links.of_account(self.account.id)
        abonents = await self.provider.directory.get()
        wanted = {
            abonent.user_id: abonent
            for link in links
            if (abonent := abonents.by_extension.get(link.extension)) is not None
        }
        current = await self.store.all()
        now = time.time()
        for user_id, abonent in wanted.items():
            subscription = current.get(user_id)
            try:
                if subscription is None or not subscription.alive(now):
                    await self.subscribe(user_id, abonent.extension)
                elif now >= subscription.renew_at():
                    await self.renew(subscription)
            except PbxError as exc:
                log.warning("MTS %s: abonent %s: %s", self.account.id, user_id, exc)
        for user_id, subscription in current.items():
            if user_id not in wanted:
                await self.unsubscribe(subscription)

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
