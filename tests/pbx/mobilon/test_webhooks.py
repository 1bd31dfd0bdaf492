"""Mobilon's incoming-call webhook over real HTTP: the key names the employee (403 when it
is not one of the account's), the number is required (400), and rings of one caller
close together are one call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest_asyncio
from redis.asyncio import Redis

from bot.config import Settings
from bot.events import CallLegEvent, LegState, Party
from bot.metrics import Metrics
from bot.pbx.mobilon.keys import EmployeeKeys
from bot.pbx.providers import Providers
from bot.pipeline.ingest import add_ingest_routes
from bot.pipeline.stream import EventStream, decode_event
from bot.storage import Keys
from bot.web import build_web_app
from tests.helpers import serving
from tests.secret_keys import TEST_BOX

ACCOUNT = {"id": "mob", "provider": "mobilon", "api_token": "account-token-1234"}
OTHER = {"id": "mob2", "provider": "mobilon", "api_token": "other-token-5678"}
ANNA_KEY, BORIS_KEY = "anna-key-0001", "boris-key-0002"


@pytest_asyncio.fixture
async def pbx(
    make_settings: Callable[..., Settings], redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(accounts=[ACCOUNT, OTHER])
    keys = EmployeeKeys(redis, box=TEST_BOX)
    await keys.set("mob", "101", ANNA_KEY)
    await keys.set("mob", "102", BORIS_KEY)
    await keys.set("mob2", "201", "other-account-key")
    async with httpx.AsyncClient() as http:
        app = build_web_app(settings, redis, Metrics())
        stream = EventStream(redis, Keys())
        providers = Providers.from_settings(settings, http, redis=redis)
        add_ingest_routes(app, providers, stream, Metrics())
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            yield client


async def _stored(redis: Redis) -> list[Any]:
    entries = await redis.xrange(Keys().events_stream()) or []
    return [decode_event(str(fields["event"])) for _, fields in entries if fields]


async def test_ring_becomes_a_ringing_leg_for_the_keys_employee(
    pbx: httpx.AsyncClient, redis: Redis
) -> None:
    answer = await pbx.get("/pbx/mob/incoming", params={"number": "79001234567", "key": ANNA_KEY})

    assert answer.status_code == 200
    [event] = await _stored(redis)
    assert isinstance(event, CallLegEvent)
    assert (event.state, event.seq, event.account) == (LegState.RINGING, 1, "mob")
    assert event.caller == Party(number="79001234567")
    assert event.callee == Party(extension="101")
    assert event.leg_id == f"{event.call_id}:101"
    assert ANNA_KEY not in event.model_dump_json()


async def test_unknown_missing_or_foreign_key_is_403_and_stores_nothing(
    pbx: httpx.AsyncClient, redis: Redis
) -> None:
    for params in (
        {"number": "79001234567", "key": "guessed-key-999"},
        {"number": "79001234567"},
        {"number": "79001234567", "key": ""},
        {"number": "79001234567", "key": "other-account-key"},  # a key of another account
        {},
    ):
        answer = await pbx.get("/pbx/mob/incoming", params=params)
        assert answer.status_code == 403, params
        assert answer.json() == {"error": "forbidden"}
    assert await _stored(redis) == []


async def test_missing_number_is_400(pbx: httpx.AsyncClient, redis: Redis) -> None:
    for params in (
        {"key": ANNA_KEY},
        {"key": ANNA_KEY, "number": ""},
        {"key": ANNA_KEY, "number": "{NUMBER}"},
    ):
        answer = await pbx.get("/pbx/mob/incoming", params=params)
        assert answer.status_code == 400, params
    assert await _stored(redis) == []


async def test_post_with_query_or_form_is_accepted(pbx: httpx.AsyncClient, redis: Redis) -> None:
    by_query = await pbx.post(
        "/pbx/mob/incoming", params={"number": "79001112233", "key": ANNA_KEY}
    )
    by_form = await pbx.post("/pbx/mob/incoming", data={"number": "79004445566", "key": BORIS_KEY})

    assert (by_query.status_code, by_form.status_code) == (200, 200)
    events = await _stored(redis)
    assert [(e.caller.number, e.callee.extension) for e in events] == [
        ("79001112233", "101"),
        ("79004445566", "102"),
    ]


async def test_rings_of_one_caller_are_one_call_with_a_leg_each(
    pbx: httpx.AsyncClient, redis: Redis
) -> None:
    for key in (ANNA_KEY, BORIS_KEY, ANNA_KEY):
        answer = await pbx.get(
            "/pbx/mob/incoming", params={"number": "+7 900 123-45-67", "key": key}
        )
        assert answer.status_code == 200
    other = await pbx.get("/pbx/mob/incoming", params={"number": "79005550000", "key": ANNA_KEY})
    assert other.status_code == 200

    events = await _stored(redis)
    first, second, again, unrelated = events
    assert first.call_id == second.call_id == again.call_id != unrelated.call_id
    assert [first.leg_id, second.leg_id] == [f"{first.call_id}:101", f"{first.call_id}:102"]
    assert again.dedupe_key == first.dedupe_key  # the same ring twice changes nothing


async def test_key_given_to_another_extension_moves(pbx: httpx.AsyncClient, redis: Redis) -> None:
    await EmployeeKeys(redis, box=TEST_BOX).set("mob", "103", ANNA_KEY)

    await pbx.get("/pbx/mob/incoming", params={"number": "79001234567", "key": ANNA_KEY})

    [event] = await _stored(redis)
    assert event.callee.extension == "103"
    assert await EmployeeKeys(redis, box=TEST_BOX).key_of("mob", "101") is None
