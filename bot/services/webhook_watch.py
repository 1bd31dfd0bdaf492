"""A watchdog for webhooks that fail verification again and again (a key, salt or token
changed on one side): admins hear once when it starts, and once when it is over.

Use :meth:`WebhookWatch.refused` where a webhook is refused with 403 (only that path pays
a Redis call), and run :meth:`WebhookWatch.job` on the job runner, once across replicas.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from redis.asyncio import Redis

from bot.runtime.jobs import Job
from bot.storage.keys import Keys
from bot.telegram.dead_letters import Admins
from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox, OutMessage, Priority


class WebhookWatch:
    """Counts an account's refused webhooks in a window from the first refusal; an
    incident opens at ``threshold`` of them and closes once a window passes without any."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        admins: Admins,
        notices: Notices,
        outbox: Outbox,
        *,
        threshold: int = 5,
        window: float = 600.0,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._admins = admins
        self._notices = notices
        self._outbox = outbox
        self._threshold = threshold
        self._window = window

    async def refused(self, account: str) -> None:
        """One more webhook of ``account`` failed verification."""
        key = self._keys.webhook_refusals(account)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.pexpire(key, int(self._window * 1000), nx=True)
            await pipe.execute()

    async def check(self, accounts: Sequence[str]) -> None:
        """Open or close each account's incident, telling the admins once each time."""
        for account in accounts:
            refused = int(await self._redis.get(self._keys.webhook_refusals(account)) or 0)
            incident = self._keys.webhook_incident(account)
            if refused >= self._threshold:
                opened = str(int(time.time() * 1000))  # names the incident in its notices
                if await self._redis.set(incident, opened, nx=True):
                    await self._tell("webhooks_failing", account, opened, refused=refused)
            elif not refused and (opened_at := await self._redis.getdel(incident)):
                await self._tell("webhooks_verified", account, str(opened_at), refused=0)

    def job(self, accounts: Sequence[str], period: float) -> Job:
        """The runner's job looking after ``accounts`` every ``period`` seconds."""

        async def tick() -> None:
            await self.check(accounts)

        return Job("webhook-watch", tick, period=period, once_across_replicas=True)

    async def _tell(self, template: str, account: str, incident: str, *, refused: int) -> None:
        minutes = max(1, round(self._window / 60))
        for admin_id in await self._admins():
            t = await self._notices.translator(admin_id)
            text = t(template, account=account, refused=refused, minutes=minutes)
            slot = f"watch:{template}:{account}:{incident}:{admin_id}"
            await self._outbox.put(slot, OutMessage(chat_id=admin_id, text=text), Priority.DIGEST)
