"""The daily digest: at ``DIGEST_TIME`` every group chat subscribed to ``digest`` gets the
day's report with its chart, once.

:func:`digest_jobs` makes it a job of every worker process. Each look at the clock
(:class:`DigestTiming`; tests bring their own clock) sends what is due: after the digest
time, each subscribed chat whose marker for the day can still be set (``SET NX``) gets
the report through the outbox. The marker makes replicas and restarts agree: one chat,
one digest a day. A process started after the digest time sends the day's digest then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from redis.asyncio import Redis

from bot.config import Settings
from bot.domain import Language, SubscriptionKind
from bot.pipeline.notify import Notifier
from bot.reports.period import Period
from bot.reports.report import CHART_FILENAME, Report, Reports, report_chart, report_text
from bot.runtime.jobs import Job
from bot.services.call_log import CallLog
from bot.storage import Keys
from bot.storage.subscriptions import SubscriptionRepository
from bot.telegram.outbox import Outbox, OutMessage, PhotoRef, Priority

MARKER_TTL = timedelta(days=3)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DigestTiming:
    """Which clock the digest job reads, and how often."""

    clock: Callable[[], datetime] = field(default=utc_now)
    poll_seconds: float = 20.0


def digest_jobs(digest: DailyDigest, timing: DigestTiming) -> list[Job]:
    """The job that sends each due digest, looking at ``timing.clock`` every poll."""

    async def send_due() -> None:
        await digest.send_due(timing.clock())

    return [Job("daily-digest", send_due, period=timing.poll_seconds)]


class DailyDigest:
    """Queue the day's report for every subscribed group chat that has not had it yet."""

    def __init__(
        self,
        *,
        settings: Settings,
        redis: Redis,
        keys: Keys,
        subscriptions: SubscriptionRepository,
        outbox: Outbox,
        notifier: Notifier,
        call_log: CallLog,
    ) -> None:
        self._settings = settings
        self._redis = redis
        self._keys = keys
        self._subscriptions = subscriptions
        self._outbox = outbox
        self._notifier = notifier
        self._reports = Reports(call_log, notifier.missed, notifier)

    def due_day(self, now: datetime) -> date | None:
        """The day whose digest is due at ``now``, or None before the digest time."""
        settings = self._settings
        local = now.astimezone(settings.zone)
        return local.date() if local.time() >= settings.digest_clock() else None

    async def send_due(self, now: datetime) -> int:
        """Queue the due digests; how many chats got one."""
        day = self.due_day(now)
        if day is None:
            return 0
        sent = 0
        for account in self._settings.accounts:
            chats = await self._subscriptions.chats(account.id, SubscriptionKind.DIGEST)
            if chats:
                sent += await self._send_account(account.id, day, chats)
        return sent

    async def _send_account(self, account: str, day: date, chats: list[int]) -> int:
        report: Report | None = None
        charts: dict[Language, PhotoRef | None] = {}
        sent = 0
        for chat_id in chats:
            marker = self._keys.digest_sent(account, chat_id, day.isoformat())
            if not await self._redis.set(marker, "1", nx=True, ex=MARKER_TTL):
                continue  # another replica, or an earlier run, took this one
            try:
                if report is None:
                    report = await self._reports.collect(
                        account, Period.of_day(day, self._settings.zone)
                    )
                t = await self._notifier.translator(chat_id)
                if t.language not in charts:
                    chart = await report_chart(report, t)
                    charts[t.language] = (
                        await self._outbox.store_photo(chart, CHART_FILENAME) if chart else None
                    )
                text = report_text(report, t, digest=True)
                message = OutMessage(chat_id=chat_id, text=text, photo=charts[t.language])
                await self._outbox.put(
                    f"digest:{account}:{day.isoformat()}:{chat_id}", message, Priority.DIGEST
                )
            except BaseException:
                await self._redis.delete(marker)  # the next look at the clock tries again
                raise
            sent += 1
        return sent
