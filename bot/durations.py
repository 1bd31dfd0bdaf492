"""Durations written the way people write them in the TOML file: ``"90s"``, ``"15m"``,
``"2h"``, or combined (``"1h30m"``).

Use :data:`Duration` as a pydantic field type; it holds a :class:`datetime.timedelta`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+)([hms])")
_UNITS = {"h": 3600, "m": 60, "s": 1}


def parse_duration(text: object) -> timedelta:
    """``"1h30m"`` → 90 minutes; ValueError for anything else (a bare number included)."""
    if isinstance(text, timedelta):
        return text
    if not isinstance(text, str):
        raise ValueError('a duration is text such as "15m", "2h" or "90s"')
    value = text.strip().lower().replace(" ", "")
    parts = _PART.findall(value)
    if not value or "".join(f"{n}{u}" for n, u in parts) != value:
        raise ValueError(f'"{text}" is not a duration; write it as "15m", "2h" or "90s"')
    seconds = sum(int(number) * _UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise ValueError(f'"{text}" is not a duration longer than zero')
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest way to write ``value`` back: ``"1h30m"``, ``"15m"``, ``"45s"``."""
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (seconds, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
