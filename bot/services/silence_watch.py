"""A watchdog for accounts that went quiet: no call event for a set time during working
hours usually means the PBX stopped sending webhooks (its settings changed, its
subscription lapsed, the network between them broke). Admins hear once when it starts,
and once when events come again.

Use :meth:`SilenceWatch.job` on the job runner, once across replicas; accounts opt in with
``silence_alert_after`` (and ``working_hours``, else every hour counts).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.accounts import AccountBase
from bot.durations import format_duration
from bot.runtime.jobs import Job
from bot.services.incidents import Incidents
from bot.storage.keys import Keys

KIND = "silent"  # the incident's kind: an account sent no events for too long


class SilenceWatch:
    """Opens an account's incident once its working time without events reaches
    ``silence_alert_after``, and closes it when an event comes."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        incidents: Incidents,
        accounts: Sequence[AccountBase],
        zone: ZoneInfo,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._incidents = incidents
        self._accounts = [a for a in accounts if a.silence_alert_after is not None]
        self._zone = zone

    async def check(self, now: float | None = None) -> None:
        """Open or close each watched account's incident, telling the admins once each."""
        moment = datetime.fromtimestamp(now or time.time(), self._zone)
        for account in self._accounts:
            limit = account.silence_alert_after
            assert limit is not None
            last = await self._redis.get(self._keys.last_event(account.id))
            since = float(last) if last else await self._watched_since(account.id, moment)
            quiet = self.quiet_time(account, datetime.fromtimestamp(since, self._zone), moment)
            if quiet >= limit:
                await self._incidents.open(
                    KIND,
                    account.id,
                    "account_silent",
                    quiet=format_duration(limit),
                    last=f"{datetime.fromtimestamp(float(last), self._zone):%d.%m %H:%M}"
                    if last
                    else None,
                )
            elif last:
                await self._incidents.close(KIND, account.id, "account_silent_over")

    @staticmethod
    def quiet_time(account: AccountBase, since: datetime, until: datetime) -> timedelta:
        """How long ``account`` has been without events, in working time."""
        hours = account.working_hours
        return hours.worked(since, until) if hours is not None else until - since

    async def _watched_since(self, account: str, moment: datetime) -> float:
        key = self._keys.watched_since(account)
        await self._redis.set(key, str(moment.timestamp()), nx=True)
        return float(await self._redis.get(key) or moment.timestamp())

    def jobs(self, period: float) -> list[Job]:
        """The runner's job, every ``period`` seconds; none when no account is watched."""
        if not self._accounts:
            return []
        return [Job("silence-watch", self.check, period=period, once_across_replicas=True)]
