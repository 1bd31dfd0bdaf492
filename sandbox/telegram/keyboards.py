"""Reply markup checks: inline keyboards (callback data, URLs) and reply keyboards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.telegram.models import Button, bad_request

_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_MAX_BUTTONS = 100
_URL_SCHEMES = ("http://", "https://", "tg://")


@dataclass(frozen=True)
class Markup:
    """A checked reply_markup: the inline part as Telegram echoes it, and a reply keyboard."""

    inline: dict[str, Any] | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    reply_keyboard: list[list[dict[str, Any]]] | None = None


def _button_error(detail: str) -> Exception:
    return bad_request(f"can't parse inline keyboard button: {detail}")


def _inline_button(raw: Any) -> Button:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        raise _button_error('Field "text" must be of type String')
    actions = [name for name in _ACTIONS if name in raw]
    if not actions:
        raise _button_error("Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _button_error("exactly one of the optional fields must be used")
    data = raw.get("callback_data")
    if "callback_data" in raw and (
        not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64
    ):
        raise bad_request("BUTTON_DATA_INVALID")
    url = raw.get("url")
    if "url" in raw and (
        not isinstance(url, str)
        or not url.lower().startswith(_URL_SCHEMES)
        or len(url.split("://", 1)[1]) == 0
    ):
        raise bad_request("BUTTON_URL_INVALID")
    return Button(text=raw["text"], callback_data=data, url=url)


def _inline(markup: dict[str, Any]) -> Markup:
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    if sum(len(row) for row in rows) > _MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    buttons = [[_inline_button(raw) for raw in row] for row in rows]
    buttons = [row for row in buttons if row]
    echoed = [[dict(raw) for raw in row] for row in rows if row]
    if not buttons:
        return Markup()
    return Markup(inline={"inline_keyboard": echoed}, buttons=buttons)


def _reply_keyboard(markup: dict[str, Any]) -> Markup:
    rows = markup["keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
    result: list[list[dict[str, Any]]] = []
    for row in rows:
        line: list[dict[str, Any]] = []
        for raw in row:
            button = {"text": raw} if isinstance(raw, str) else raw
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )
            line.append(dict(button))
        result.append(line)
    return Markup(reply_keyboard=result)


def parse_markup(value: Any, *, inline_only: bool = False) -> Markup:
    """Check a reply_markup parameter the way Telegram does; ApiError on what it refuses."""
    if value is None:
        return Markup()
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        return _inline(value)
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in value:
        return _reply_keyboard(value)
    if "remove_keyboard" in value or "force_reply" in value:
        return Markup()
    raise bad_request("can't parse reply keyboard markup JSON object")
