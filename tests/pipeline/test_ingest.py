"""MANGO webhooks over real HTTP: verified events are stored, everything else is refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest_asyncio
from redis.asyncio import Redis

from bot.config import Settings
from bot.events import CallLegEvent
from bot.metrics import Metrics
from bot.pbx.mango.signing import sign
from bot.pbx.providers import Providers
from bot.pipeline.ingest import add_ingest_routes
from bot.pipeline.stream import EventStream, decode_event, entry_call
from bot.storage import Keys
from bot.web import build_web_app
from tests.helpers import serving

KEY, SALT = "test-api-key", "test-api-salt"
CALL = {
    "entry_id": "MTA4MTYxMzU5Nzo0MDQ=",
    "call_id": "MToxMDE2MzU0MTo0MDQ6NzY0",
    "timestamp": 1558422128,
    "seq": 1,
    "call_state": "Appeared",
    "location": "abonent",
    "from": {"number": "79001234567"},
    "to": {"extension": "101", "number": "sip:anna@example.mangosip.ru"},
}


@pytest_asyncio.fixture
async def pbx(
    make_settings: Callable[..., Settings], redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings()
    async with httpx.AsyncClient() as http:
        app = build_web_app(settings, redis, Metrics())
        stream = EventStream(redis, Keys())
        add_ingest_routes(app, Providers.from_settings(settings, http), stream, Metrics())
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            yield client


def _form(
    payload: Any, *, key: str = KEY, salt: str = SALT, text: str | None = None
) -> dict[str, str]:
    body = text if text is not None else json.dumps(payload, separators=(",", ":"))
    return {"vpbx_api_key": key, "sign": sign(key, body, salt), "json": body}


async def _stored(redis: Redis) -> list[Any]:
    entries = await redis.xrange(Keys().events_stream()) or []
    return [decode_event(str(fields["event"])) for _, fields in entries if fields]


async def test_verified_event_is_stored_and_answered(pbx: httpx.AsyncClient, redis: Redis) -> None:
    response = await pbx.post("/pbx/main/events/call", data=_form(CALL))

    assert response.status_code == 200
    assert response.json() == {}
    [event] = await _stored(redis)
    assert isinstance(event, CallLegEvent)
    assert event.leg_id == "MToxMDE2MzU0MTo0MDQ6NzY0"
    assert event.raw == CALL


async def test_a_stored_event_names_its_call_for_the_workers(
    pbx: httpx.AsyncClient, redis: Redis
) -> None:
    await pbx.post("/pbx/main/events/call", data=_form(CALL))

    [(_, fields)] = await redis.xrange(Keys().events_stream()) or []
    assert fields is not None
    event = decode_event(str(fields["event"]))
    assert isinstance(event, CallLegEvent)
    assert (
        entry_call({str(k): str(v) for k, v in fields.items()})
        == f"main:{event.call_id}"
        == f"main:{CALL['entry_id']}"
    )


async def test_unicode_escaped_and_raw_utf8_both_verify(
    pbx: httpx.AsyncClient, redis: Redis
) -> None:
    payload = {"command_id": "c1", "result": 1000, "note": "Привет"}
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    escaped = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    for text in (raw, escaped):
        response = await pbx.post("/pbx/main/result/callback", data=_form(None, text=text))
        assert response.status_code == 200, text
    assert len(await _stored(redis)) == 2


async def test_rejections_store_nothing(pbx: httpx.AsyncClient, redis: Redis) -> None:
    compact = json.dumps(CALL, separators=(",", ":"))
    pretty = json.dumps(CALL, indent=2)
    reserialised = {**_form(None, text=pretty), "json": compact}
    cases = [
        ("wrong sign", "/pbx/main/events/call", {**_form(CALL), "sign": "0" * 64}, 403),
        ("wrong key", "/pbx/main/events/call", _form(CALL, key="other-key"), 403),
        ("re-serialised json", "/pbx/main/events/call", reserialised, 403),
        ("no sign", "/pbx/main/events/call", {"vpbx_api_key": KEY, "json": compact}, 403),
        ("missing fields", "/pbx/main/events/call", _form({"entry_id": "e", "seq": 1}), 400),
        ("unknown account", "/pbx/other/events/call", _form(CALL), 404),
        ("unknown route", "/pbx/main/events/nothing", _form(CALL), 404),
    ]
    for name, path, form, status in cases:
        response = await pbx.post(path, data=form)
        assert response.status_code == status, name
        assert KEY not in response.text and SALT not in response.text, name
        if status == 403:
            assert response.json() == {"error": "forbidden"}, name

    not_form = await pbx.post("/pbx/main/events/call", json=_form(CALL))
    assert not_form.status_code == 400
    assert await _stored(redis) == []


async def test_storage_failure_is_503(make_settings: Callable[..., Settings], redis: Redis) -> None:
    settings = make_settings()
    dead: Redis = Redis.from_url("redis://127.0.0.1:1/0")
    async with httpx.AsyncClient() as http:
        app = build_web_app(settings, redis, Metrics())
        add_ingest_routes(
            app, Providers.from_settings(settings, http), EventStream(dead, Keys()), Metrics()
        )
        try:
            async with serving(app) as url:
                response = await http.post(f"{url}/pbx/main/events/call", data=_form(CALL))
        finally:
            await dead.aclose()
    assert response.status_code == 503
