"""The PBX's black and white lists (3.6.21-3.6.24): which one is in force, the numbers
on each, adding and deleting numbers. ``bwlists/number/add`` answers only the result,
as the spec's example does; ids are found by reading the lists."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

LIST_TYPES = ("black", "white")
NUMBER_TYPES = ("tel", "sip")


class ListError(Exception):
    """A request the spec refuses; ``code`` is the result to answer with."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Entry:
    number_id: int
    number: str
    comment: str = ""
    number_type: str = "tel"


@dataclass
class Lists:
    active: str = "black"
    allow_unknown: dict[str, bool] = field(default_factory=lambda: {"black": True, "white": False})
    numbers: dict[str, list[Entry]] = field(default_factory=lambda: {"black": [], "white": []})
    _next_id: int = 10088581

    def on(self, list_type: str) -> list[str]:
        """The numbers on ``list_type``, as written."""
        return [entry.number for entry in self.numbers[list_type]]

    def state_answer(self) -> dict[str, Any]:
        return {"result": 1000, "active": self.active}

    def numbers_answer(self) -> dict[str, Any]:
        data: dict[str, Any] = {"active": self.active}
        for list_type in LIST_TYPES:
            data[list_type] = {
                "allow_unknown_number": self.allow_unknown[list_type],
                "numbers": [
                    {
                        "number_id": entry.number_id,
                        "number": entry.number,
                        "comment": entry.comment,
                        "number_type": entry.number_type,
                    }
                    for entry in self.numbers[list_type]
                ],
            }
        return {"result": 1000, "data": data}

    def add(self, payload: dict[str, Any]) -> dict[str, Any]:
        list_type = payload.get("list_type")
        number = payload.get("number")
        number_type = payload.get("number_type", "tel")
        comment = str(payload.get("comment") or "")
        if list_type not in LIST_TYPES or number_type not in NUMBER_TYPES:
            raise ListError(3100)
        if not isinstance(number, str) or not number or len(comment) > 255:
            raise ListError(3100)
        if number_type == "tel" and not re.fullmatch(r"[0-9*#\-]+", number):
            raise ListError(3104)
        entry = Entry(self._next_id, number, comment, number_type)
        self._next_id += 1
        self.numbers[list_type].append(entry)
        return {"result": 1000}

    def delete(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            wanted = int(payload["number_id"])
        except (KeyError, TypeError, ValueError):
            raise ListError(3100) from None
        for entries in self.numbers.values():
            for entry in entries:
                if entry.number_id == wanted:
                    entries.remove(entry)
                    return {"result": 1000}
        raise ListError(3300)
