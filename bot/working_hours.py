"""Working hours as the TOML file writes them: ``"mon-fri 09:00-18:00"``, several rules
separated by commas (``"mon-fri 09:00-18:00, sat 10:00-14:00"``), the days left out for
every day (``"09:00-18:00"``), an end before the start for a shift past midnight.

Use :data:`WorkingHoursField` as a pydantic field type, and :class:`WorkingHours` to ask
whether a moment is within them, when they open next, or how much working time passed.
Moments are aware datetimes; the hours are read in the zone of the moment asked about.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(
    r"^(?:(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+)?"
    r"(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$"
)
LOOK_AHEAD_DAYS = 8  # a week and a day: every weekly opening is within reach


@dataclass(frozen=True)
class Rule:
    """Open from ``start`` to ``end`` on ``days`` (0 is Monday); past midnight if end < start."""

    days: frozenset[int]
    start: time
    end: time

    def spans(self, day: date, zone: tzinfo | None) -> Iterator[tuple[datetime, datetime]]:
        """The opening starting on ``day``, if the rule has one that day."""
        if day.weekday() not in self.days:
            return
        opens = datetime.combine(day, self.start, tzinfo=zone)
        closes_on = day if self.end > self.start else day + timedelta(days=1)
        closes = datetime.combine(closes_on, self.end, tzinfo=zone)
        yield opens, closes


@dataclass(frozen=True)
class WorkingHours:
    """When people are at work; see the module's docstring for the format."""

    rules: tuple[Rule, ...]
    text: str

    def __str__(self) -> str:
        return self.text

    def spans(
        self, first: date, last: date, zone: tzinfo | None
    ) -> list[tuple[datetime, datetime]]:
        """Every opening that starts from ``first`` to ``last``, in time order."""
        found: list[tuple[datetime, datetime]] = []
        day = first
        while day <= last:
            for rule in self.rules:
                found.extend(rule.spans(day, zone))
            day += timedelta(days=1)
        return sorted(found)

    def contains(self, moment: datetime) -> bool:
        """True when ``moment`` is within working hours."""
        day = moment.date()
        spans = self.spans(day - timedelta(days=1), day, moment.tzinfo)
        return any(opens <= moment < closes for opens, closes in spans)

    def opened_at(self, moment: datetime) -> datetime | None:
        """When the working hours ``moment`` is within opened; None outside them."""
        day = moment.date()
        spans = self.spans(day - timedelta(days=1), day, moment.tzinfo)
        return next((opens for opens, closes in spans if opens <= moment < closes), None)

    def closed_before(self, moment: datetime) -> datetime:
        """When working hours last closed at or before ``moment`` (within a week)."""
        day = moment.date()
        earlier = self.spans(day - timedelta(days=LOOK_AHEAD_DAYS), day, moment.tzinfo)
        return max(
            (closes for _, closes in earlier if closes <= moment),
            default=moment - timedelta(days=LOOK_AHEAD_DAYS),
        )

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` itself if it is within working hours, else when they open next."""
        if self.contains(moment):
            return moment
        day = moment.date()
        later = self.spans(day, day + timedelta(days=LOOK_AHEAD_DAYS), moment.tzinfo)
        return next(opens for opens, _ in later if opens > moment)

    def after(self, since: datetime, amount: timedelta) -> datetime:
        """The moment ``amount`` of working time has passed since ``since`` (a call at night
        with 15 minutes to be called back is due a quarter past opening)."""
        left = amount
        day = since.date() - timedelta(days=1)
        while True:
            for opens, closes in self.spans(day, day, since.tzinfo):
                start = max(opens, since)
                if closes <= start:
                    continue
                if start + left <= closes:
                    return start + left
                left -= closes - start
            day += timedelta(days=1)

    def worked(self, since: datetime, until: datetime) -> timedelta:
        """How much working time lies between ``since`` and ``until``."""
        if until <= since:
            return timedelta(0)
        total = timedelta(0)
        first = since.date() - timedelta(days=1)
        for opens, closes in self.spans(first, until.date(), since.tzinfo):
            start, end = max(opens, since), min(closes, until)
            if end > start:
                total += end - start
        return total


def _clock(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours == 24 and minutes == 0:
        return time(0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text} is not a time of day")
    return time(hours, minutes)


def _days(first: str | None, last: str | None) -> frozenset[int]:
    if first is None:
        return frozenset(range(7))
    for name in (first, last):
        if name is not None and name not in DAYS:
            raise ValueError(f"{name} is not a day; use {', '.join(DAYS)}")
    start = DAYS.index(first)
    if last is None:
        return frozenset({start})
    count = (DAYS.index(last) - start) % 7 + 1
    return frozenset((start + offset) % 7 for offset in range(count))


def parse_working_hours(text: object) -> WorkingHours:
    """``"mon-fri 09:00-18:00"`` → WorkingHours; ValueError saying what is wrong."""
    if isinstance(text, WorkingHours):
        return text
    if not isinstance(text, str) or not text.strip():
        raise ValueError('write working hours as "mon-fri 09:00-18:00"')
    rules = []
    for part in text.lower().split(","):
        found = _RULE.match(" ".join(part.split()))
        if found is None:
            raise ValueError(f'"{part.strip()}" is not like "mon-fri 09:00-18:00"')
        start, end = _clock(found["start"]), _clock(found["end"])
        if start == end and found["end"] != "24:00":
            raise ValueError(f'"{part.strip()}" opens and closes at the same time')
        rules.append(Rule(_days(found["first"], found["last"]), start, end))
    return WorkingHours(tuple(rules), text.strip())


WorkingHoursField = Annotated[
    WorkingHours, BeforeValidator(parse_working_hours), PlainSerializer(str, return_type=str)
]
