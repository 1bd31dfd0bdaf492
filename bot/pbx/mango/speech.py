"""MANGO's speech analytics (3.4.4, 3.4.5): a recording's transcript and its topics.

Both methods take ``recording_id`` as the spec's examples send it: a JSON array of ids,
written as a string. Each phrase comes as ``[side, text]``; ``names`` says what each
side is called ("Клиент", an employee's name, "Канал 1"…).
"""

from __future__ import annotations

import json
from typing import Any

SIDES = ("client", "operator")


def request(recording_id: str, **extra: Any) -> dict[str, Any]:
    return {"recording_id": json.dumps([recording_id], ensure_ascii=False), **extra}


def _item(data: dict[str, Any], recording_id: str) -> dict[str, Any] | None:
    for item in data.get("data") or []:
        if isinstance(item, dict) and str(item.get("recording_id")) == recording_id:
            return item
    return None


def phrases(data: dict[str, Any], recording_id: str) -> tuple[tuple[str, str], ...]:
    """The phrases of ``recording_id``, each with its side's name ("" if unnamed)."""
    item = _item(data, recording_id)
    if item is None:
        return ()
    given = item.get("names")
    names: dict[str, Any] = given if isinstance(given, dict) else {}
    found: list[tuple[str, str]] = []
    for phrase in item.get("phrases") or []:
        if isinstance(phrase, list | tuple) and len(phrase) == 2 and str(phrase[1]).strip():
            side = str(phrase[0])
            label = str(names.get(side) or "") if side in SIDES else ""
            found.append((label, str(phrase[1]).strip()))
    return tuple(found)


def topics(data: dict[str, Any], recording_id: str) -> tuple[str, ...]:
    """The names of the topics found in ``recording_id``."""
    item = _item(data, recording_id)
    names = [
        str(category.get("name") or "").strip()
        for category in (item or {}).get("categories") or []
        if isinstance(category, dict)
    ]
    return tuple(dict.fromkeys(name for name in names if name))
