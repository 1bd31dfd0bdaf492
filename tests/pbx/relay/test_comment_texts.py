"""The relay ``comment`` on cards and summaries, in both languages, always as plain text."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain import Language
from bot.texts import Texts

COMMENT = '<b>start</b> & "VIP"'  # doc line 53's comment, with characters HTML gives meaning
ESCAPED = "&lt;b&gt;start&lt;/b&gt; &amp; &#34;VIP&#34;"


def _card(**values: Any) -> dict[str, Any]:
    return {
        "state": "ringing",
        "client": "+7 900 123-45-67",
        "caller_name": None,
        "line": None,
        "group": None,
        "colleague": None,
        "talk": "0:00",
        "action": None,
        "caller": None,
        "context": None,
        "menu": None,
        "spam": False,
        "notes": [],
        "tags": [],
        **values,
    }


def _summary(**values: Any) -> dict[str, Any]:
    return {
        "direction": "outbound",
        "at": "10:00",
        "client": "777777777",
        "employee": None,
        "rang": [],
        "answered": False,
        "talk": "0:00",
        "caller": None,
        "notes": [],
        "tags": [],
        **values,
    }


@pytest.mark.parametrize(
    ("language", "label"), [(Language.EN, "Comment"), (Language.RU, "Комментарий")]
)
def test_comment_is_one_escaped_line_on_card_and_summary(language: Language, label: str) -> None:
    """Doc line 34: ``comment`` is free text; jinja's autoescape keeps it from being markup."""
    texts = Texts()
    card = texts.render(language, "card", **_card(comment=COMMENT))
    summary = texts.render(language, "call_summary", **_summary(comment=COMMENT))
    assert card.splitlines()[2] == f"💬 {label}: {ESCAPED}"
    assert summary.splitlines()[-1] == f"💬 {label}: {ESCAPED}"

    assert label not in texts.render(language, "card", **_card(comment=None))
    assert label not in texts.render(language, "call_summary", **_summary(comment=None))
