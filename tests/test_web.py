"""Health, readiness, metrics and the /pbx account check over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest_asyncio
from aiohttp import web
from redis.asyncio import Redis

from bot.config import Settings
from bot.metrics import Metrics
from bot.web import add_pbx_route, build_web_app
from tests.helpers import serving


async def _echo(request: web.Request) -> web.Response:
    return web.json_response({"account": request.match_info["account"]})


@pytest_asyncio.fixture
async def base_url(make_settings: Callable[..., Settings], redis: Redis) -> AsyncIterator[str]:
    app = build_web_app(make_settings(), redis, Metrics())
    add_pbx_route(app, "POST", "/events/call", _echo)
    async with serving(app) as url:
        yield url


async def test_health_readiness_and_metrics(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")

    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'pbxgram_http_requests_total{route="/healthz",status="200"} 1.0' in metrics.text
    assert "pbxgram_ready 1.0" in metrics.text


async def test_pbx_routes_check_the_account(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        known = await client.post("/pbx/main/events/call")
        unknown = await client.post("/pbx/other/events/call")
        unrouted = await client.get("/pbx/nope")

    assert known.json() == {"account": "main"}
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "unknown account"}
    assert unrouted.status_code == 404


async def test_readiness_fails_without_redis(make_settings: Callable[..., Settings]) -> None:
    dead: Redis = Redis.from_url("redis://127.0.0.1:1/0")
    try:
        async with (
            serving(build_web_app(make_settings(), dead, Metrics())) as url,
            httpx.AsyncClient() as client,
        ):
            response = await client.get(f"{url}/readyz")
    finally:
        await dead.aclose()
    assert response.status_code == 503
