"""Mobilon's ``CallToSubscriber`` error codes and the sentences people see for them.

The sentences live in ``templates/<lang>/mobilon.toml`` under ``errors``; a code the doc
does not list falls back to ``errors.unknown``.
"""

from __future__ import annotations

from typing import Any

# The doc's table, verbatim.
DESCRIPTIONS: dict[int, str] = {
    1: "Operator is not registered",
    2: "Invalid API key",
    3: "The number can only consist of numbers and Latin characters",
    4: "Internal error",
    5: "User doesn't have subscriber or operator",
}
SUCCESS = 0


def as_code(value: Any) -> int | None:
    """The code as an int (the PBX sends ``0`` and ``"1"`` alike), None if unreadable."""
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def message_key(code: int | None) -> str:
    """The label key of the sentence for ``code``."""
    if code in DESCRIPTIONS:
        return f"mobilon.errors.code_{code}"
    return "mobilon.errors.unknown"
