"""A watchdog for webhooks that fail verification again and again (a key, salt or token
changed on one side): admins hear once when it starts, and once when it is over.

Use :meth:`WebhookWatch.refused` where a webhook is refused with 403 (only that path pays
a Redis call), and run :meth:`WebhookWatch.job` on the job runner, once across replicas.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from bot.runtime.jobs import Job
from bot.services.incidents import Incidents
from bot.storage.keys import Keys

KIND = "webhooks"  # the incident's kind: an account's webhooks keep failing verification


class WebhookWatch:
    """Counts an account's refused webhooks in a window from the first refusal; an
    incident opens at ``threshold`` of them and closes once a window passes without any."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        incidents: Incidents,
        *,
        threshold: int = 5,
        window: float = 600.0,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._incidents = incidents
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
        minutes = max(1, round(self._window / 60))
        for account in accounts:
            refused = int(await self._redis.get(self._keys.webhook_refusals(account)) or 0)
            if refused >= self._threshold:
                await self._incidents.open(
                    KIND, account, "webhooks_failing", refused=refused, minutes=minutes
                )
            elif not refused:
                await self._incidents.close(KIND, account, "webhooks_verified")

    def job(self, accounts: Sequence[str], period: float) -> Job:
        """The runner's job looking after ``accounts`` every ``period`` seconds."""

        async def tick() -> None:
            await self.check(accounts)

        return Job("webhook-watch", tick, period=period, once_across_replicas=True)
