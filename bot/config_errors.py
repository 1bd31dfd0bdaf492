"""Configuration mistakes in plain words: one line each, naming the TOML field
(``accounts[0] (main).api_salt``) or the environment variable, never a value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.accounts import EXTENSION_PATTERN, MENU_KEY_PATTERN, REGION_PATTERN, SLUG_PATTERN
from bot.config_sources import SECRETS_DIR_VARIABLE, secret_variable
from bot.errors import ConfigError
from bot.pbx.registry import provider_ids, secret_fields

PATTERNS = {
    SLUG_PATTERN: 'expected up to 32 lowercase letters, digits, "-" and "_", such as "main"',
    REGION_PATTERN: 'expected a country code in two capital letters, such as "RU"',
    EXTENSION_PATTERN: 'expected an extension of 1 to 10 digits, such as "101"',
    MENU_KEY_PATTERN: 'expected the keys that choose the item (0-9, * and #), such as "1"',
}
PLAIN = {
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected text in quotes",
    "dict_type": "expected a table of names and values",
    "list_type": "expected a list such as [...]",
    "set_type": "expected a list such as [...]",
    "frozen_set_type": "expected a list such as [...]",
    "url_parsing": "expected an http:// or https:// URL, such as https://bot.example.com",
    "url_scheme": "expected an http:// or https:// URL, such as https://bot.example.com",
    "url_type": "expected an http:// or https:// URL, such as https://bot.example.com",
    "extra_forbidden": "not a field pbxgram knows here (a typo?)",
}
BOUNDS = {
    "greater_than_equal": ("ge", "must be at least"),
    "greater_than": ("gt", "must be more than"),
    "less_than_equal": ("le", "must be at most"),
    "less_than": ("lt", "must be less than"),
}
VARIABLE_SOURCES = f"in the environment, .env or {SECRETS_DIR_VARIABLE}"


class ConfigProblems(ConfigError):
    """Every configuration mistake found at once; ``str()`` is one line per mistake."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(dict.fromkeys(problems))
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class AccountsFile:
    """The TOML accounts as read, and which secrets came from variables (and from where)."""

    path: Path
    accounts: list[dict[str, Any]]
    from_variables: Mapping[tuple[int, str], str] = field(default_factory=dict)


def describe(exc: ValidationError, accounts_file: AccountsFile | None) -> list[str]:
    """One plain line per error pydantic found."""
    return [_line(error, accounts_file) for error in exc.errors()]


def _line(error: ErrorDetails, accounts_file: AccountsFile | None) -> str:
    loc = list(error["loc"])
    if loc and loc[0] == "accounts" and len(loc) > 1 and accounts_file is not None:
        return f"{accounts_file.path}: {_account_line(error, loc, accounts_file)}"
    message = _message(error)
    if not loc:
        return message
    where = str(loc[0]).upper() + "".join(
        f" (item {part + 1})" if isinstance(part, int) else f".{part}" for part in loc[1:]
    )
    return f"{where}: {message}"


def _account_line(error: ErrorDetails, loc: list[Any], accounts_file: AccountsFile) -> str:
    index = loc[1]
    account = accounts_file.accounts[index] if isinstance(index, int) else {}
    account_id = account.get("id")
    where = f"accounts[{index}]" + (f" ({account_id})" if isinstance(account_id, str) else "")
    rest = loc[2:]
    if rest and rest[0] in provider_ids():
        rest = rest[1:]
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        rest = ["provider"]
    where += _path(rest)
    secret = len(rest) == 1 and rest[0] in secret_fields()
    variable = secret_variable(account_id, str(rest[0])) if secret else ""
    came_from = accounts_file.from_variables.get((index, str(rest[0]))) if secret else None
    if came_from is not None:
        where += f" (from {variable} in {came_from})"
    message = _message(error)
    if secret and error["type"] == "missing":
        message = (
            f"required but missing: add it to the account, or set {variable} ({VARIABLE_SOURCES})"
        )
    return f"{where}: {message}"


def _path(parts: Sequence[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            text += " (the key)"
        else:
            text += f".{part}"
    return text


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == "missing":
        return "required but missing"
    if kind == "union_tag_invalid":
        return f"unknown provider {ctx['tag']!r}: expected one of {', '.join(provider_ids())}"
    if kind == "union_tag_not_found":
        return f"required but missing: one of {', '.join(provider_ids())}"
    if kind in ("too_short", "string_too_short", "too_long", "string_too_long"):
        return _length(kind, ctx, error.get("input"))
    if kind in BOUNDS:
        key, words = BOUNDS[kind]
        return f"{words} {ctx[key]}"
    if kind == "literal_error":
        return f"expected {ctx['expected']}"
    if kind == "string_pattern_mismatch":
        return PATTERNS.get(ctx["pattern"], f"does not have the expected form {ctx['pattern']}")
    if kind in PLAIN:
        return PLAIN[kind]
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _length(kind: str, ctx: Mapping[str, Any], value: object) -> str:
    shortest = kind.endswith("too_short")
    limit = int(ctx["min_length"] if shortest else ctx["max_length"])
    text = kind.startswith("string") or isinstance(value, str)
    unit = ("character" if text else "item") + ("" if limit == 1 else "s")
    return f"must have {'at least' if shortest else 'at most'} {limit} {unit}"
