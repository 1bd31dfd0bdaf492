"""A report for one account and period: collected from the call log, put into words and a
chart in the reader's language.

Use :meth:`Reports.collect` once per account and period, then :meth:`Reports.render` per
language (``/report`` renders once; the digest renders once per group chat).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.pipeline.caller_view import tag_label
from bot.pipeline.notify import Notifier
from bot.reports.callbacks import CallbackFigures, callback_figures
from bot.reports.chart import ChartText, RepBars, render_chart
from bot.reports.figures import EmployeeFigures, Figures, count
from bot.reports.period import Period, PeriodKind
from bot.services.call_log import CallLog
from bot.services.missed_calls import MissedCalls
from bot.telegram.sender import visible_length
from bot.texts import Translator

MESSAGE_LIMIT = 4096  # characters of one Telegram message once its HTML is parsed
NAME_WIDTH = 18
CHART_FILENAME = "calls.png"


@dataclass(frozen=True)
class Report:
    """The figures of a period and the names of the employees in them."""

    account: str
    figures: Figures
    names: dict[str, str]
    callbacks: CallbackFigures = field(default_factory=lambda: callback_figures([]))


@dataclass(frozen=True)
class RenderedReport:
    text: str  # Telegram HTML, within one message
    chart: bytes | None  # PNG; None when there were no calls to draw


class Reports:
    """Collect a period's report for an account and render it."""

    def __init__(self, call_log: CallLog, missed: MissedCalls, notifier: Notifier) -> None:
        self._call_log = call_log
        self._missed = missed
        self._notifier = notifier

    async def collect(self, account: str, period: Period) -> Report:
        calls = await self._call_log.between(account, period.start, period.end)
        missed = await self._missed.between(account, period.start, period.end)
        figures = count(calls, period, {call.ref for call in missed if call.is_open})
        callbacks = callback_figures(missed)
        names: dict[str, str] = {}
        extensions = [row.extension for row in figures.employees]
        for extension in [*extensions, *(rep.extension for rep in callbacks.reps)]:
            if extension not in names:
                names[extension] = await self._notifier.name_of(account, extension) or ""
        return Report(account, figures, names, callbacks)

    async def render(
        self, report: Report, t: Translator, *, digest: bool = False
    ) -> RenderedReport:
        """Words (shortening the employee table to fit one message) and the chart."""
        return RenderedReport(report_text(report, t, digest=digest), await report_chart(report, t))


async def report_chart(report: Report, t: Translator) -> bytes | None:
    """The chart's PNG (drawn off the event loop); None when there were no calls. With
    deadlines, a second panel shows each rep's call backs within and past them."""
    figures = report.figures
    if not figures.total:
        return None
    reps = tuple(
        RepBars(
            name=report.names.get(rep.extension) or rep.extension,
            within=rep.within_deadline,
            past=rep.past_deadline,
        )
        for rep in report.callbacks.reps
        if rep.within_deadline or rep.past_deadline
    )
    return await render_chart(
        chart_text(figures.period, t),
        figures.answered_by_bucket,
        figures.missed_by_bucket,
        reps,
    )


def report_text(report: Report, t: Translator, *, digest: bool = False) -> str:
    """The report's message; the employee table loses its last rows until it fits."""
    figures = report.figures
    rows = [_row(employee, report.names) for employee in figures.employees]
    shown = len(rows)
    while True:
        text = t(
            "report",
            digest=digest,
            week=figures.period.kind is PeriodKind.WEEK,
            start=day_label(figures.period.first_day, t),
            end=day_label(figures.period.last_day, t),
            f=figures,
            wait=duration(figures.average_wait) if figures.average_wait is not None else None,
            rows=rows[:shown],
            cb=report.callbacks,
            cb_median=_maybe_duration(report.callbacks.median_seconds),
            cb_p90=_maybe_duration(report.callbacks.p90_seconds),
            cb_reps=[
                (
                    report.names.get(rep.extension) or rep.extension,
                    rep.called_back,
                    duration(rep.median_seconds),
                    rep.within_deadline,
                )
                for rep in report.callbacks.reps
            ],
            tags=[(tag_label(t, tag), n) for tag, n in figures.tags],
            width=max((len(row[0]) for row in rows), default=0),
            more=len(rows) - shown,
        )
        if visible_length(text) <= MESSAGE_LIMIT or shown == 0:
            return text
        shown -= 1


def chart_text(period: Period, t: Translator) -> ChartText:
    if period.kind is PeriodKind.TODAY:
        return ChartText(
            title=t.label("reports.chart.title_today", date=day_label(period.first_day, t)),
            x_label=t.label("reports.chart.hour"),
            y_label=t.label("reports.chart.calls"),
            answered=t.label("reports.chart.answered"),
            missed=t.label("reports.chart.missed"),
            ticks=tuple(str(hour) for hour in range(period.bucket_count)),
            **_reps_words(t),
        )
    return ChartText(
        title=t.label(
            "reports.chart.title_week",
            start=day_label(period.first_day, t),
            end=day_label(period.last_day, t),
        ),
        x_label=t.label("reports.chart.day"),
        y_label=t.label("reports.chart.calls"),
        answered=t.label("reports.chart.answered"),
        missed=t.label("reports.chart.missed"),
        ticks=tuple(
            f"{t.label(f'reports.weekdays.{day.weekday()}')}\n{day:%d.%m}" for day in period.days()
        ),
        **_reps_words(t),
    )


def _reps_words(t: Translator) -> dict[str, str]:
    return {
        "reps_title": t.label("reports.chart.callbacks"),
        "within": t.label("reports.chart.within"),
        "past": t.label("reports.chart.past"),
    }


def day_label(day: date, t: Translator) -> str:
    """``11 June`` / ``11 июня``."""
    return t.label("reports.date", day=day.day, month=t.label(f"reports.months.{day.month}"))


def duration(seconds: int) -> str:
    """``0:42``, ``12:05``, ``1:02:03``."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _maybe_duration(seconds: int | None) -> str | None:
    return duration(seconds) if seconds is not None else None


def _row(employee: EmployeeFigures, names: dict[str, str]) -> tuple[str, int, int, str]:
    name = names.get(employee.extension) or employee.extension
    if len(name) > NAME_WIDTH:
        name = name[: NAME_WIDTH - 1] + "…"
    return name, employee.calls, employee.answered, duration(employee.talk_seconds)
