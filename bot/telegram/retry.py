"""Replies to people wait out Telegram's 429 instead of being lost.

Messages the bot starts go through the outbox, whose sender has its own rate limits and
retries; a handler's direct answer (``message.answer``) would otherwise fail on a 429.
:class:`RetryAfterMiddleware` (a session middleware) waits ``retry_after`` and sends
again, for everything except the sender's own requests (see :func:`outbox_delivery`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response

MAX_ATTEMPTS = 4
LONGEST_WAIT = 60  # seconds; a longer flood wait is not worth holding a handler for

_in_outbox = ContextVar("in_outbox", default=False)


@contextlib.contextmanager
def outbox_delivery() -> Iterator[None]:
    """Mark requests made inside as the sender's: it handles 429s itself."""
    token = _in_outbox.set(True)
    try:
        yield
    finally:
        _in_outbox.reset(token)


class RetryAfterMiddleware(BaseRequestMiddleware):
    """On 429, wait ``retry_after`` and try again (a few times, never for long)."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if _in_outbox.get() or attempt >= MAX_ATTEMPTS or exc.retry_after > LONGEST_WAIT:
                    raise
                attempt += 1
                await asyncio.sleep(exc.retry_after)


__all__ = ["RetryAfterMiddleware", "outbox_delivery"]
