"""Working hours and durations read as people write them, and asked about correctly."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.durations import format_duration, parse_duration
from bot.working_hours import parse_working_hours

MSK = ZoneInfo("Europe/Moscow")
OFFICE = parse_working_hours("mon-fri 09:00-18:00, sat 10:00-14:00")


def at(day: int, clock: str) -> datetime:
    """A moment of the week of Monday 2026-12-07 (day 0) in Moscow."""
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime(2026, 12, 7 + day, hours, minutes, tzinfo=MSK)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (at(0, "08:59"), False),
        (at(0, "09:00"), True),
        (at(4, "17:59"), True),
        (at(4, "18:00"), False),
        (at(5, "12:00"), True),
        (at(6, "12:00"), False),
    ],
)
def test_within_working_hours(moment: datetime, inside: bool) -> None:
    assert OFFICE.contains(moment) is inside


def test_next_opening() -> None:
    assert OFFICE.next_opening(at(0, "10:00")) == at(0, "10:00")  # open now
    assert OFFICE.next_opening(at(0, "19:30")) == at(1, "09:00")
    assert OFFICE.next_opening(at(5, "15:00")) == at(7, "09:00")  # Sunday closed


def test_working_time_between_two_moments() -> None:
    assert OFFICE.worked(at(4, "17:00"), at(7, "10:00")) == timedelta(hours=1 + 4 + 1)
    assert OFFICE.worked(at(0, "19:00"), at(0, "23:00")) == timedelta(0)


def test_a_shift_past_midnight_and_every_day() -> None:
    night = parse_working_hours("22:00-06:00")
    assert night.contains(at(2, "23:00")) and night.contains(at(3, "05:59"))
    assert not night.contains(at(3, "06:00"))
    assert parse_working_hours("mon-sun 00:00-24:00").contains(at(6, "23:59"))
    weekend = parse_working_hours("fri-mon 10:00-12:00")  # wraps over the week's end
    assert weekend.contains(at(6, "11:00")) and not weekend.contains(at(2, "11:00"))


@pytest.mark.parametrize(
    "text", ["", "mon-fri", "9-18", "mon-fri 09:00-25:00", "mon-fry 09:00-18:00", "09:00-09:00"]
)
def test_bad_working_hours_say_why(text: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_working_hours(text)


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("2h", 7200), ("90s", 90), ("1h30m", 5400)]
)
def test_durations(text: str, seconds: int) -> None:
    value = parse_duration(text)
    assert value == timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize("text", ["15", "15 minutes", "0m", "-5m", "m", 15])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_working_time_added_to_a_moment() -> None:
    quarter = timedelta(minutes=15)
    assert OFFICE.after(at(0, "10:00"), quarter) == at(0, "10:15")
    assert OFFICE.after(at(0, "17:50"), quarter) == at(1, "09:05")  # over the night
    assert OFFICE.after(at(4, "22:00"), quarter) == at(5, "10:15")  # Saturday's hours
    assert OFFICE.after(at(5, "13:00"), timedelta(hours=2)) == at(7, "10:00")


def test_when_the_hours_opened_and_last_closed() -> None:
    assert OFFICE.opened_at(at(1, "11:00")) == at(1, "09:00")
    assert OFFICE.opened_at(at(1, "20:00")) is None
    assert OFFICE.closed_before(at(1, "09:00")) == at(0, "18:00")
    assert OFFICE.closed_before(at(7, "09:30")) == at(5, "14:00")  # Saturday's close
