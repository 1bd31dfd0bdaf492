"""The stretch of time a report covers, in the time zone people read times in.

Use :meth:`Period.today` for one day counted per hour and :meth:`Period.week` for the
last seven days (today included) counted per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

WEEK_DAYS = 7
DAY_HOURS = 24


class PeriodKind(StrEnum):
    TODAY = "today"
    WEEK = "week"


@dataclass(frozen=True)
class Period:
    """[start, end) in ``zone``, split into hour buckets (a day) or day buckets (a week)."""

    kind: PeriodKind
    first_day: date
    last_day: date
    zone: ZoneInfo

    @classmethod
    def today(cls, now: datetime, zone: ZoneInfo) -> Period:
        return cls.of_day(now.astimezone(zone).date(), zone)

    @classmethod
    def of_day(cls, day: date, zone: ZoneInfo) -> Period:
        return cls(PeriodKind.TODAY, day, day, zone)

    @classmethod
    def week(cls, now: datetime, zone: ZoneInfo) -> Period:
        last = now.astimezone(zone).date()
        return cls(PeriodKind.WEEK, last - timedelta(days=WEEK_DAYS - 1), last, zone)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), self.zone)

    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=n) for n in range(count)]

    @property
    def bucket_count(self) -> int:
        return DAY_HOURS if self.kind is PeriodKind.TODAY else len(self.days())

    def bucket_of(self, moment: datetime) -> int | None:
        """The hour of the day (a day) or the day's index (a week); None outside the period."""
        local = moment.astimezone(self.zone)
        if not self.first_day <= local.date() <= self.last_day:
            return None
        if self.kind is PeriodKind.TODAY:
            return local.hour
        return (local.date() - self.first_day).days

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end
