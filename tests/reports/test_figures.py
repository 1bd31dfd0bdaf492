"""Report figures counted from hand-built call-log entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.events import Direction
from bot.reports import EmployeeFigures, Period, PeriodKind, count
from bot.services.call_log import LoggedCall, call_ref

MOSCOW = ZoneInfo("Europe/Moscow")
# 11 June 2025, 10:00 in Moscow (07:00 UTC)
MORNING = datetime(2025, 6, 11, 7, 0, tzinfo=UTC)


def _call(
    call_id: str,
    direction: Direction,
    *,
    at: datetime = MORNING,
    answered_by: str | None = None,
    rang: list[str] | None = None,
    wait: int = 10,
    talk: int = 0,
) -> LoggedCall:
    rang = rang if rang is not None else ([answered_by] if answered_by else [])
    return LoggedCall(
        account="main",
        call_id=call_id,
        direction=direction,
        client_number="+79001234567",
        extension=answered_by or (rang[0] if rang else None),
        rang=rang,
        answered=answered_by is not None,
        started_at=at,
        answered_at=at + timedelta(seconds=wait) if answered_by else None,
        ended_at=at + timedelta(seconds=wait + talk),
        talk_seconds=talk,
    )


def _day() -> list[LoggedCall]:
    inbound, outbound = Direction.INBOUND, Direction.OUTBOUND
    return [
        _call("in-1", inbound, answered_by="102", rang=["101", "102"], wait=12, talk=90),
        _call(
            "in-2", inbound, answered_by="101", wait=20, talk=30, at=MORNING + timedelta(hours=1)
        ),
        _call("in-3", inbound, rang=["101", "102"], at=MORNING + timedelta(hours=1, minutes=5)),
        _call("in-4", inbound, rang=["101", "102"], at=MORNING + timedelta(hours=5)),
        _call("in-ivr", inbound, rang=[], at=MORNING + timedelta(hours=5, minutes=1)),
        _call("out-1", outbound, answered_by="101", wait=4, talk=45),
        _call("out-2", outbound, rang=["103"], at=MORNING + timedelta(hours=2)),
        _call("int-1", Direction.INTERNAL, answered_by="103", rang=["103"], talk=15),
    ]


def test_a_day_counts_directions_answers_misses_and_waits() -> None:
    period = Period.today(MORNING, MOSCOW)
    figures = count(_day(), period, open_missed={call_ref("main", "in-4")})

    assert (figures.inbound, figures.outbound, figures.internal) == (5, 2, 1)
    assert figures.total == 8
    assert (figures.inbound_answered, figures.outbound_answered) == (2, 1)
    assert figures.missed == 3  # in-3, in-4 and the caller who hung up in the voice menu
    assert figures.missed_open == 1
    assert figures.average_wait == 16  # (12 + 20) / 2, answered inbound calls only
    assert figures.answered == 4


def test_employees_count_calls_that_rang_them_and_calls_they_talked_on() -> None:
    figures = count(_day(), Period.today(MORNING, MOSCOW), open_missed=set())
    assert figures.employees == (
        EmployeeFigures("101", calls=5, answered=2, talk_seconds=75),
        EmployeeFigures("102", calls=3, answered=1, talk_seconds=90),
        EmployeeFigures("103", calls=2, answered=1, talk_seconds=15),
    )


def test_hours_are_local_hours_and_missed_means_inbound_unanswered() -> None:
    figures = count(_day(), Period.today(MORNING, MOSCOW), open_missed=set())
    assert figures.period.kind is PeriodKind.TODAY
    assert len(figures.answered_by_bucket) == 24
    answered = {h: n for h, n in enumerate(figures.answered_by_bucket) if n}
    missed = {h: n for h, n in enumerate(figures.missed_by_bucket) if n}
    assert answered == {10: 3, 11: 1}  # in-1, out-1, int-1 at 10:00; in-2 at 11:00 (Moscow)
    assert missed == {11: 1, 15: 2}  # the unanswered outbound call is not "missed"


def test_calls_outside_the_period_are_left_out() -> None:
    yesterday = _call("old", Direction.INBOUND, at=MORNING - timedelta(days=1), answered_by="101")
    # 23:30 UTC on the 10th is already 02:30 on the 11th in Moscow
    late = _call("late", Direction.INBOUND, at=datetime(2025, 6, 10, 23, 30, tzinfo=UTC))
    figures = count([yesterday, late], Period.today(MORNING, MOSCOW), open_missed=set())
    assert (figures.inbound, figures.missed) == (1, 1)
    assert figures.missed_by_bucket[2] == 1
    assert figures.employees == ()


def test_a_week_is_counted_per_day_ending_today() -> None:
    period = Period.week(MORNING, MOSCOW)
    assert period.start == datetime(2025, 6, 5, tzinfo=MOSCOW)
    assert period.end == datetime(2025, 6, 12, tzinfo=MOSCOW)
    calls = [
        _call("mon", Direction.INBOUND, answered_by="101", at=MORNING - timedelta(days=2)),
        _call("thu", Direction.INBOUND, rang=["101"], at=MORNING - timedelta(days=6)),
        _call("too-old", Direction.INBOUND, rang=["101"], at=MORNING - timedelta(days=7)),
        *_day(),
    ]
    figures = count(calls, period, open_missed=set())
    assert figures.inbound == 7
    assert figures.answered_by_bucket == (0, 0, 0, 0, 1, 0, 4)
    assert figures.missed_by_bucket == (1, 0, 0, 0, 0, 0, 3)


def test_no_calls_no_average_wait() -> None:
    figures = count([], Period.today(MORNING, MOSCOW), open_missed=set())
    assert figures.total == 0
    assert figures.average_wait is None
    assert figures.answered_by_bucket == (0,) * 24
