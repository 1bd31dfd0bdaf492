"""Incidents admins should know about: told once when one starts and once when it is over,
whichever replica sees it (the incident lives in Redis).

Use :meth:`Incidents.open` each time a problem is seen and :meth:`Incidents.close` each
time things are seen working again; only the first call of each says anything.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from bot.storage.keys import Keys
from bot.telegram.dead_letters import Admins
from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox, OutMessage, Priority


class Incidents:
    """Opens and closes incidents by kind and account, telling each admin once each time."""

    def __init__(
        self, redis: Redis, keys: Keys, admins: Admins, notices: Notices, outbox: Outbox
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._admins = admins
        self._notices = notices
        self._outbox = outbox

    async def is_open(self, kind: str, account: str) -> bool:
        return bool(await self._redis.exists(self._keys.incident(kind, account)))

    async def open(self, kind: str, account: str, template: str, **params: object) -> None:
        """The problem is seen: tell the admins with ``template`` unless they know already."""
        opened = str(int(time.time() * 1000))  # names the incident in its notices
        if await self._redis.set(self._keys.incident(kind, account), opened, nx=True):
            await self._tell(template, kind, account, opened, params)

    async def close(self, kind: str, account: str, template: str, **params: object) -> None:
        """Things work again: tell the admins with ``template`` if an incident was open."""
        opened = await self._redis.getdel(self._keys.incident(kind, account))
        if opened:
            await self._tell(template, kind, account, str(opened), params)

    async def _tell(
        self, template: str, kind: str, account: str, opened: str, params: dict[str, object]
    ) -> None:
        for admin_id in await self._admins():
            t = await self._notices.translator(admin_id)
            text = t(template, account=account, **params)
            slot = f"incident:{kind}:{account}:{opened}:{template}:{admin_id}"
            await self._outbox.put(slot, OutMessage(chat_id=admin_id, text=text), Priority.DIGEST)
