"""Posting signed notifications to the external system, and injected failures."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from sandbox.mango import codes
from sandbox.mango.handlers import Reply, failure
from sandbox.mango.signing import signed_form

log = logging.getLogger(__name__)

POST_TIMEOUT = aiohttp.ClientTimeout(total=10)


async def post_signed(
    session: aiohttp.ClientSession,
    url: str,
    api_key: str,
    api_salt: str,
    payload: dict[str, Any],
    *,
    escape_unicode: bool,
) -> int:
    """POST ``vpbx_api_key``, ``sign`` and ``json`` as a form; the HTTP status answered,
    0 when nobody answered.
    """
    form = signed_form(api_key, api_salt, payload, escape_unicode=escape_unicode)
    try:
        async with session.post(url, data=form) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        log.info("MANGO simulator could not post to %s: %s", url, exc)
        return 0


class Failures:
    """Answers queued by ``fail_next``, per path, used before the real handler runs."""

    def __init__(self) -> None:
        self._queued: dict[str, list[Reply]] = {}

    def add(self, path: str, code: int | None, http_status: int | None, times: int) -> None:
        if http_status == 420:
            reply = failure(code if code is not None else codes.BAD_PARAMETERS)
        elif http_status == 503:
            reply = Reply(503, dict(codes.RATE_LIMIT_BODY))
        elif http_status is not None:
            reply = Reply(http_status)
        else:
            reply = Reply(200, {"result": code if code is not None else codes.SERVER_ERROR})
        self._queued.setdefault(path, []).extend([reply] * times)

    def take(self, path: str) -> Reply | None:
        queue = self._queued.get(path)
        return queue.pop(0) if queue else None
