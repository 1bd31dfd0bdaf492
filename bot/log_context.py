"""What a log record is about: account, call, stream entry, chat.

Wrap work in :func:`log_fields`; every record logged within carries the fields (the
:class:`ContextFields` filter copies them on), so ``LOG_FORMAT=json`` shows them.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token
from types import TracebackType

CONTEXT_FIELDS = ("account", "call", "stream", "entry", "chat")
_context: ContextVar[dict[str, str]] = ContextVar("log_context", default={})  # noqa: B039


def log_fields(**fields: object) -> LogFields:
    """Add ``fields`` (None ones left out) to every record logged within
    (``with log_fields(call=...):``)."""
    return LogFields({name: str(value) for name, value in fields.items() if value is not None})


class LogFields:
    """The context of :func:`log_fields`. (A class rather than a generator: every stream
    entry enters a few.)"""

    __slots__ = ("_added", "_token")
    _token: Token[dict[str, str]]

    def __init__(self, added: dict[str, str]) -> None:
        self._added = added

    def __enter__(self) -> None:
        self._token = _context.set({**_context.get(), **self._added})

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _context.reset(self._token)


class ContextFields(logging.Filter):
    """Copies the :func:`log_fields` context onto each record (``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True
