"""The MANGO OFFICE HTTP client: signed form posts, published rate limits, error codes.

Use :class:`MangoClient` for every request to ``api_url``; it signs, waits for a rate-limit
slot shared through Redis, retries "Rate limit exceeded" (HTTP 503) a bounded number of
times, and turns HTTP 420 ``{"code": N}`` and ``{"result": N}`` answers into
:class:`~bot.pbx.base.PbxError`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from limits import RateLimitItem, RateLimitItemPerSecond, parse

from bot.pbx.base import PbxRateLimited, PbxRejected, PbxUnavailable, transport_error
from bot.pbx.mango.account import MangoAccount
from bot.pbx.mango.codes import lookup, message_key
from bot.pbx.mango.signing import signed_form
from bot.ratelimit import RateLimitTimeout, SharedRateLimiter, Take

log = logging.getLogger(__name__)

SUCCESS = 1000
GLOBAL_LIMIT = RateLimitItemPerSecond(10)
# Section 1.4.1 of the spec, per endpoint (on top of the global 10/s).
ENDPOINT_LIMITS: dict[str, RateLimitItem] = {
    "commands/callback": parse("4/second"),
    "commands/callback_group": parse("4/second"),
    "commands/call/hangup": parse("4/second"),
    "commands/recording/start": parse("4/second"),
    "queries/recording/post": parse("10/second"),
    "config/users/request": parse("1/2second"),
    "account/balance": parse("2/second"),
    "commands/transfer": parse("1/2second"),
    "commands/route": parse("1/2second"),
    "stats/request": parse("10/second"),
    "stats/result": parse("50/second"),
    "ab/contact": parse("50/second"),
}
# Methods that count toward one row of that table.
LIMIT_ROWS = {"ab/contact/init": "ab/contact", "ab/contact/cursor": "ab/contact"}
RETRY_DELAYS = (0.5, 1.0, 2.0)
# MANGO counts a request when it arrives: a slot that just freed up is taken a little later,
# so that network jitter, and the spread of a burst's own sending, do not land eleven
# requests in one second there (50 ms was seen to fall short on a busy two-core host).
ARRIVAL_MARGIN = 0.15


class MangoClient:
    """Signed requests to one MANGO account."""

    def __init__(
        self,
        account: MangoAccount,
        http: httpx.AsyncClient,
        limiter: SharedRateLimiter | None = None,
        *,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.account = account
        self._http = http
        self._limiter = limiter
        self._retry_delays = retry_delays
        self._base = account.base_api_url.rstrip("/") + "/"
        # Parsed once per path: httpx parses a URL given as text again on every request.
        self._parsed: dict[str, httpx.URL] = {}

    def url(self, path: str) -> str:
        return self._base + path.lstrip("/")

    def _parsed_url(self, path: str) -> httpx.URL:
        parsed = self._parsed.get(path)
        if parsed is None:
            parsed = self._parsed[path] = httpx.URL(self.url(path))
        return parsed

    async def post(self, path: str, payload: Any) -> httpx.Response:
        """POST a signed request; retries rate limiting; raises PbxError on HTTP errors.

        The answer is returned unread-checked for 2xx and 3xx (callers look at the body).
        """
        form = signed_form(
            self.account.api_key.get_secret_value(),
            self.account.api_salt.get_secret_value(),
            payload,
        )
        for delay in (*self._retry_delays, None):
            await self._wait_for_slot(path)
            try:
                response = await self._http.post(self._parsed_url(path), data=form)
            except httpx.HTTPError as exc:
                raise transport_error(f"MANGO {path}", exc) from None
            if response.status_code == 503 and _is_rate_limited(response):
                if delay is None:
                    break
                log.info("MANGO %s rate limited, retrying in %.1fs", path, delay)
                await asyncio.sleep(delay)
                continue
            _raise_for_status(path, response)
            return response
        raise PbxRateLimited(f"MANGO {path}: rate limit exceeded", vendor_code=503)

    async def call(self, path: str, payload: Any) -> dict[str, Any]:
        """POST and read the JSON answer; a ``result`` other than 1000 raises PbxRejected."""
        response = await self.post(path, payload)
        try:
            data = response.json()
        except ValueError:
            raise PbxUnavailable(f"MANGO {path}: answer is not JSON") from None
        if not isinstance(data, dict):
            raise PbxUnavailable(f"MANGO {path}: unexpected answer")
        result = data.get("result", data.get("Result"))
        if result is not None and _as_int(result) != SUCCESS:
            raise _rejected(path, result)
        return data

    async def _wait_for_slot(self, path: str) -> None:
        # The global slot and the endpoint's, taken together just before the request
        # leaves, so MANGO never sees a slot that was taken long ago.
        if self._limiter is None:
            return
        row = LIMIT_ROWS.get(path.strip("/"), path.strip("/"))
        item = ENDPOINT_LIMITS.get(row)
        takes = [Take(GLOBAL_LIMIT, ("mango", self.account.id), ARRIVAL_MARGIN, shared=True)]
        if item is not None:
            takes.append(Take(item, ("mango", self.account.id, row), ARRIVAL_MARGIN))
        try:
            await self._limiter.take_all(takes)
        except RateLimitTimeout:
            raise PbxRateLimited(f"MANGO {path}: local rate limit wait too long") from None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _rejected(path: str, code: Any) -> PbxRejected:
    found = lookup(code)
    return PbxRejected(
        f"MANGO {path}: result {code} ({found.description_ru})",
        vendor_code=_as_int(code) if _as_int(code) is not None else str(code),
        message_key=message_key(code),
    )


def _is_rate_limited(response: httpx.Response) -> bool:
    return b"rate limit" in response.content.lower()


def _raise_for_status(path: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 420:
        try:
            code = response.json().get("code")
        except (ValueError, AttributeError):
            code = None
        raise _rejected(path, code if code is not None else 420)
    if status >= 500:
        raise PbxUnavailable(f"MANGO {path}: HTTP {status}", vendor_code=status)
    raise PbxRejected(f"MANGO {path}: HTTP {status}", vendor_code=status)
