"""A period's numbers, counted from the call log: what a report says and draws.

Use :func:`count` on the calls :meth:`CallLog.between` gives for the period. It is pure,
so the numbers can be checked on hand-built calls.

- inbound, outbound, internal: calls by direction;
- answered: calls somebody talked on, any direction; missed: inbound calls nobody answered;
- missed_open: missed calls whose client nobody has talked to since (their missed-call
  record is still open);
- average_wait: the mean time inbound callers waited for an answer, answered calls only;
- employees: per extension, the calls that rang it or that it made, those it talked on,
  and its talk time; busiest first;
- answered_by_bucket / missed_by_bucket: per hour (a day) or per day (a week), for the chart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from bot.events import Direction
from bot.reports.period import Period
from bot.services.call_log import LoggedCall


@dataclass(frozen=True)
class EmployeeFigures:
    extension: str
    calls: int
    answered: int
    talk_seconds: int


@dataclass(frozen=True)
class Figures:
    period: Period
    inbound: int
    outbound: int
    internal: int
    inbound_answered: int
    outbound_answered: int
    missed: int
    missed_open: int
    average_wait: int | None
    employees: tuple[EmployeeFigures, ...]
    answered_by_bucket: tuple[int, ...]
    missed_by_bucket: tuple[int, ...]
    spam: int = 0  # unanswered inbound calls from numbers marked as spam (not "missed")
    tags: tuple[tuple[str, int], ...] = ()  # outcome tags set on the calls, most used first

    @property
    def total(self) -> int:
        return self.inbound + self.outbound + self.internal

    @property
    def answered(self) -> int:
        return sum(self.answered_by_bucket)


def count(calls: Iterable[LoggedCall], period: Period, open_missed: Collection[str]) -> Figures:
    """The figures of ``calls`` that started in ``period``.

    ``open_missed`` holds the refs of missed calls still waiting for a call back.
    """
    in_period = [call for call in calls if period.contains(call.started_at)]
    inbound = [c for c in in_period if c.direction is Direction.INBOUND]
    outbound = [c for c in in_period if c.direction is Direction.OUTBOUND]
    missed = [c for c in inbound if not c.answered and not c.spam]
    waits = [c.wait_seconds for c in inbound if c.answered and c.wait_seconds is not None]
    answered_by_bucket = [0] * period.bucket_count
    missed_by_bucket = [0] * period.bucket_count
    for call in in_period:
        bucket = period.bucket_of(call.started_at)
        if bucket is None:
            continue
        if call.answered:
            answered_by_bucket[bucket] += 1
        elif call.direction is Direction.INBOUND and not call.spam:
            missed_by_bucket[bucket] += 1
    return Figures(
        period=period,
        inbound=len(inbound),
        outbound=len(outbound),
        internal=sum(1 for c in in_period if c.direction is Direction.INTERNAL),
        inbound_answered=sum(1 for c in inbound if c.answered),
        outbound_answered=sum(1 for c in outbound if c.answered),
        missed=len(missed),
        missed_open=sum(1 for c in missed if c.ref in open_missed),
        average_wait=round(sum(waits) / len(waits)) if waits else None,
        employees=_employees(in_period),
        answered_by_bucket=tuple(answered_by_bucket),
        missed_by_bucket=tuple(missed_by_bucket),
        spam=sum(1 for c in inbound if not c.answered and c.spam),
        tags=tuple(Counter(tag for call in in_period for tag in call.tags).most_common()),
    )


def _employees(calls: list[LoggedCall]) -> tuple[EmployeeFigures, ...]:
    rows: dict[str, list[int]] = {}  # extension -> [calls, answered, talk seconds]
    for call in calls:
        people = dict.fromkeys([*call.rang, *([call.extension] if call.extension else [])])
        for extension in people:
            row = rows.setdefault(extension, [0, 0, 0])
            row[0] += 1
            if call.answered and call.extension == extension:
                row[1] += 1
                row[2] += call.talk_seconds
    ordered = sorted(rows.items(), key=lambda item: (-item[1][0], -item[1][2], _order(item[0])))
    return tuple(
        EmployeeFigures(extension, calls=row[0], answered=row[1], talk_seconds=row[2])
        for extension, row in ordered
    )


def _order(extension: str) -> tuple[int, str]:
    """Extensions in numeric order where they are numbers."""
    return (int(extension), "") if extension.isdigit() else (1 << 62, extension)
