"""The app's HTTP client for PBX APIs.

Use :class:`PbxHttpClient` where the app makes its one client for every PBX request: it is
httpx's ``AsyncClient`` (send it an :class:`~bot.pbx.http_transport.AiohttpTransport`),
whose cookie store reads an answer's headers only when the answer sets a cookie. httpx
copies every answer's headers into ``urllib`` request and message objects to look for
cookies, which costs about a sixth of a PBX request; the PBX APIs set none.
"""

from __future__ import annotations

from http.cookiejar import CookieJar
from typing import Any

import httpx

__all__ = ["PbxHttpClient"]

CookieTypes = httpx.Cookies | CookieJar | dict[str, str] | list[tuple[str, str]]


class _CookiesWhenSet(httpx.Cookies):
    """httpx's cookie store, skipping answers without a ``Set-Cookie`` header."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class PbxHttpClient(httpx.AsyncClient):
    """httpx's ``AsyncClient``; cookies a PBX sets are kept and sent back as usual."""

    def __init__(self, *, cookies: CookieTypes | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cookies = cookies or {}

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookies_when_set

    @cookies.setter
    def cookies(self, cookies: CookieTypes) -> None:
        self._cookies_when_set = _CookiesWhenSet(cookies)
