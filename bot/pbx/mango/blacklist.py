"""MANGO's black list (3.6.21-3.6.24): the numbers the PBX itself turns away.

``bwlists/number/add`` does not say which id the new entry got, so removing a number
reads ``bwlists/numbers`` and deletes each entry of that number by its ``number_id``.
Keys are read loosely: the spec's own example writes ``"allow_unknown_number "``.
"""

from __future__ import annotations

from typing import Any

BLACK = "black"


def pbx_number(e164: str) -> str:
    """A number as MANGO writes it: digits only, country code first."""
    return "".join(ch for ch in e164 if ch.isdigit())


def add_request(e164: str, comment: str) -> dict[str, Any]:
    return {
        "list_type": BLACK,
        "number": pbx_number(e164),
        "number_type": "tel",
        "comment": comment[:255],
    }


def black_list_active(data: dict[str, Any]) -> bool:
    """Whether ``bwlists/state`` says the black list is the one in force."""
    return str(data.get("active") or "").strip().lower() == BLACK


def entry_ids(data: dict[str, Any], e164: str) -> list[str]:
    """The ``number_id`` of each black-list entry of ``e164`` in a ``bwlists/numbers``
    answer (masks and ranges are left alone)."""
    lists = data.get("data") or {}
    black = _loose(lists, BLACK) if isinstance(lists, dict) else None
    numbers = _loose(black, "numbers") if isinstance(black, dict) else None
    wanted = pbx_number(e164)
    return [
        str(entry["number_id"])
        for entry in numbers or []
        if isinstance(entry, dict)
        and entry.get("number_id") is not None
        and pbx_number(str(entry.get("number") or "")) == wanted
        and str(entry.get("number_type") or "tel") == "tel"
    ]


def _loose(data: dict[str, Any], key: str) -> Any:
    return next((value for name, value in data.items() if str(name).strip() == key), None)
