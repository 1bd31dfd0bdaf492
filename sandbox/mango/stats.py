"""Call statistics (spec 3.3): ``stats/request`` hands out a key, ``stats/result``
answers 204 until the data is ready, then the CSV once.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_FIELDS = (
    "records, start, finish, answer, from_extension, from_number, to_extension, to_number,"
    " disconnect_reason, line_number, location, create, entry_id"
)
MAX_PERIOD = 31 * 24 * 3600
"""``date_to - date_from`` may not exceed a month."""


@dataclass
class HistoryRow:
    """One finished call in the history (what a CSV line of ``stats/result`` describes)."""

    entry_id: str
    start: int
    finish: int
    answer: int = 0
    from_extension: str = ""
    from_number: str = ""
    to_extension: str = ""
    to_number: str = ""
    disconnect_reason: int = 1100
    line_number: str = ""
    location: str = "abonent"
    create: int = 0
    records: list[str] = field(default_factory=list)

    def value(self, name: str) -> str:
        if name == "records":
            return "[" + ",".join(self.records) + "]"
        if name == "answer":
            return str(self.answer)
        if name == "create":
            return str(self.create or self.start)
        if name not in _COLUMNS:
            return ""
        return str(getattr(self, name))

    def matches(self, payload: dict[str, Any]) -> bool:
        """Whether the ``from``, ``to`` and ``call_party`` filters of a request select it."""
        sides = {
            "from": [(self.from_extension, self.from_number)],
            "to": [(self.to_extension, self.to_number)],
            "call_party": [
                (self.from_extension, self.from_number),
                (self.to_extension, self.to_number),
            ],
        }
        for key, candidates in sides.items():
            wanted = payload.get(key)
            if not isinstance(wanted, dict):
                continue
            extension = str(wanted.get("extension") or "")
            number = str(wanted.get("number") or "")
            if not any(
                (not extension or extension == ext) and (not number or number == num)
                for ext, num in candidates
            ):
                return False
        return True


_COLUMNS = {f.name for f in fields(HistoryRow)}


@dataclass
class StatsJob:
    """A requested report: the CSV is fixed at request time, handed out once ready."""

    csv: str
    request_id: str | None
    polls_left: int


def new_key() -> str:
    """A key shaped like the spec's example (base64, about 88 characters)."""
    return base64.b64encode(secrets.token_bytes(64)).decode()


def field_names(payload: dict[str, Any]) -> list[str]:
    text = payload.get("fields") or DEFAULT_FIELDS
    return [name.strip() for name in str(text).split(",") if name.strip()]


def build_csv(rows: list[HistoryRow], payload: dict[str, Any], start: int, end: int) -> str:
    """Rows whose start lies in [start, end], ';' between fields and '\\n' between lines."""
    names = field_names(payload)
    lines = [
        ";".join(row.value(name) for name in names)
        for row in rows
        if start <= row.start <= end and row.matches(payload)
    ]
    return "".join(line + "\n" for line in lines)
