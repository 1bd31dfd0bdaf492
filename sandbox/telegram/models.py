"""What a person sees in a chat, plus the error type bot methods raise."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    """One inline keyboard button as a person sees it."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ChatMessage:
    """A message in a chat transcript, with edits applied; use it to assert what people see."""

    message_id: int
    chat_id: int
    from_bot: bool
    text: str
    html: str | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    reply_keyboard: list[list[dict[str, Any]]] | None = None
    reply_to: int | None = None
    edited: bool = False
    file: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def button_texts(self) -> list[str]:
        """Texts of all inline buttons, row by row."""
        return [button.text for row in self.buttons for button in row]

    def find_button(self, text_substring: str) -> Button:
        """The first inline button whose text contains ``text_substring``; KeyError if none."""
        for row in self.buttons:
            for button in row:
                if text_substring in button.text:
                    return button
        raise KeyError(f"no button containing {text_substring!r}; buttons: {self.button_texts()}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy, for the HTTP control side."""
        return asdict(self)


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request: only its name, size and type are kept."""

    name: str
    size: int
    mime: str


class ApiError(Exception):
    """A Bot API failure answered as ``{"ok": false, ...}`` with Telegram's wording."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram would answer with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    """A 400 with Telegram's ``Bad Request: ...`` prefix."""
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    """A 403 with Telegram's ``Forbidden: ...`` prefix."""
    return ApiError(403, f"Forbidden: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 with ``parameters.retry_after`` like Telegram's flood control."""
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )
