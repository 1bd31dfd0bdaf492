"""The daily digest: at ``DIGEST_TIME`` every group chat subscribed to ``digest`` gets the
day's report with its chart, once.

:func:`run_digest` is a periodic job of every worker process. Each look at the clock
(:class:`DigestTiming`; tests bring their own clock) sends what is due: after the digest
time, each subscribed chat whose marker for the day can still be set (``SET NX``) gets
the report through the outbox. The marker makes replicas and restarts agree: one chat,
one digest a day. A process started after the digest time sends the day's digest then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain import Language, SubscriptionKind
from bot.pipeline.calllog import CallLog
from bot.pipeline.notify import Notifier
from bot.reports.period import Period
from bot.reports.report import CHART_FILENAME, Report, Reports, report_chart, report_text
from bot.telegram.outbox import OutMessage, PhotoRef, Priority

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

MARKER_TTL = timedelta(days=3)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DigestTiming:
    """Which clock the digest job reads, and how often."""

    clock: Callable[[], datetime] = field(default=utc_now)
    poll_seconds: float = 20.0


async def run_digest(app: App, stop: asyncio.Event) -> None:
    """Periodic job: send each due digest until ``stop`` is set."""
    timing = app.tuning.digest
    digest = DailyDigest(app)
    while not stop.is_set():
        try:
            await digest.send_due(timing.clock())
        except Exception:
            log.exception("could not send the daily digest")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timing.poll_seconds)


class DailyDigest:
    """Queue the day's report for every subscribed group chat that has not had it yet."""

    def __init__(self, app: App) -> None:
        self._app = app
        notifier: Notifier = app.notifier
        call_log: CallLog = app.call_log
        self._reports = Reports(call_log, notifier.missed, notifier)

    def due_day(self, now: datetime) -> date | None:
        """The day whose digest is due at ``now``, or None before the digest time."""
        settings = self._app.settings
        local = now.astimezone(settings.zone)
        return local.date() if local.time() >= settings.digest_clock() else None

    async def send_due(self, now: datetime) -> int:
        """Queue the due digests; how many chats got one."""
        day = self.due_day(now)
        if day is None:
            return 0
        sent = 0
        for account in self._app.settings.accounts:
            chats = await self._app.repos.subscriptions.chats(account.id, SubscriptionKind.DIGEST)
            if chats:
                sent += await self._send_account(account.id, day, chats)
        return sent

    async def _send_account(self, account: str, day: date, chats: list[int]) -> int:
        app = self._app
        report: Report | None = None
        charts: dict[Language, PhotoRef | None] = {}
        sent = 0
        for chat_id in chats:
            marker = app.keys.digest_sent(account, chat_id, day.isoformat())
            if not await app.redis.set(marker, "1", nx=True, ex=MARKER_TTL):
                continue  # another replica, or an earlier run, took this one
            try:
                if report is None:
                    report = await self._reports.collect(
                        account, Period.of_day(day, app.settings.zone)
                    )
                t = await app.notifier.translator(chat_id)
                if t.language not in charts:
                    chart = await report_chart(report.figures, t)
                    charts[t.language] = (
                        await app.outbox.store_photo(chart, CHART_FILENAME) if chart else None
                    )
                text = report_text(report, t, digest=True)
                message = OutMessage(chat_id=chat_id, text=text, photo=charts[t.language])
                await app.outbox.put(
                    f"digest:{account}:{day.isoformat()}:{chat_id}", message, Priority.DIGEST
                )
            except BaseException:
                await app.redis.delete(marker)  # the next look at the clock tries again
                raise
            sent += 1
        return sent
