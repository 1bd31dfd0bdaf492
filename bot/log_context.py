"""What a log record is about: account, call, stream entry, chat.

Wrap work in :func:`log_fields`; every record logged within carries the fields (the
:class:`ContextFields` filter copies them on), so ``LOG_FORMAT=json`` shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

CONTEXT_FIELDS = ("account", "call", "stream", "entry", "chat")
_context: ContextVar[dict[str, str]] = ContextVar("log_context", default={})  # noqa: B039


@contextmanager
def log_fields(**fields: object) -> Iterator[None]:
    """Add ``fields`` (None ones left out) to every record logged within."""
    added = {name: str(value) for name, value in fields.items() if value is not None}
    token = _context.set({**_context.get(), **added})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFields(logging.Filter):
    """Copies the :func:`log_fields` context onto each record (``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True
