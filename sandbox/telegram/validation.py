"""Telegram's text rules: parse modes, trimming and length limits in UTF-16 units."""

from __future__ import annotations

from typing import Any

from sandbox.telegram.html_parse import HtmlError, parse_html
from sandbox.telegram.models import bad_request

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
_SPACES = " \t\r\n\v\f"


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip surrounding whitespace like Telegram does, moving entities along."""
    stripped = text.lstrip(_SPACES)
    lead = utf16_len(text) - utf16_len(stripped)
    stripped = stripped.rstrip(_SPACES)
    size = utf16_len(stripped)
    moved: list[dict[str, Any]] = []
    for entity in entities:
        start = max(0, int(entity["offset"]) - lead)
        end = min(size, int(entity["offset"]) + int(entity["length"]) - lead)
        if end > start:
            moved.append({**entity, "offset": start, "length": end - start})
    return stripped, moved


def format_text(
    raw: str,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None,
    *,
    caption: bool = False,
) -> tuple[str, list[dict[str, Any]]]:
    """What a person sees for a text or caption sent by the bot, or the ApiError Telegram gives."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            plain, found = parse_html(raw)
        except HtmlError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
    elif mode in ("", "markdown", "markdownv2"):
        plain, found = raw, list(entities or [])
    else:
        raise bad_request("unsupported parse_mode")
    plain, found = _trim(plain, found)
    if caption:
        if utf16_len(plain) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
    else:
        if not plain:
            raise bad_request("message text is empty")
        if utf16_len(plain) > TEXT_LIMIT:
            raise bad_request("message is too long")
    return plain, found
