"""The app's client for PBX APIs keeps cookies as httpx does, and looks for them only
in answers that set one."""

from __future__ import annotations

from http.cookiejar import CookieJar

import pytest
from aiohttp import web

from bot.pbx.http_client import PbxHttpClient
from bot.pbx.http_transport import AiohttpTransport
from tests.pbx.test_http_transport import serving


async def test_a_cookie_the_pbx_sets_goes_back_with_the_next_request() -> None:
    seen: list[str | None] = []

    async def session(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cookie"))
        response = web.json_response({"result": 1000})
        if request.path == "/login":
            response.set_cookie("sid", "s3cr3t")
        return response

    async with serving(session) as url, PbxHttpClient(transport=AiohttpTransport()) as http:
        await http.post(f"{url}/login", data={"a": "1"})
        await http.post(f"{url}/vpbx/stats", data={"a": "2"})
        assert http.cookies.get("sid") == "s3cr3t"
    assert seen == [None, "sid=s3cr3t"]


async def test_an_answer_that_sets_no_cookie_is_not_searched_for_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    searched: list[object] = []
    original = CookieJar.extract_cookies

    def counted(jar: CookieJar, response: object, request: object) -> None:
        searched.append(response)
        original(jar, response, request)  # type: ignore[arg-type]

    monkeypatch.setattr(CookieJar, "extract_cookies", counted)

    async def plain(request: web.Request) -> web.Response:
        return web.json_response({"result": 1000})

    async with serving(plain) as url, PbxHttpClient(transport=AiohttpTransport()) as http:
        response = await http.post(f"{url}/vpbx/account/balance", data={"json": "{}"})
    assert response.json() == {"result": 1000}
    assert searched == []
