"""The provider contract, for every PBX provider, over loopback HTTP and a real Redis.

Valid requests (doc samples) are answered 2xx and their events stored on the events
stream, each keeping the PBX's payload in ``raw``; delivering them again stores nothing
with a new dedupe key; forged or unsigned requests are 403, authenticated malformed ones
400, an unknown account 404, and none of these stores anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bot.config import Settings
from bot.events import PbxEvent
from bot.metrics import Metrics
from bot.pbx.providers import Providers
from bot.pipeline.ingest import add_ingest_routes
from bot.pipeline.stream import EventStream, decode_event
from bot.storage import Keys
from bot.web import build_web_app
from tests.helpers import serving
from tests.pbx.contract_cases import CASES, UNKNOWN_ACCOUNT, ContractCase, Delivery


def build_providers(settings: Settings, http: httpx.AsyncClient, redis: Redis) -> Providers:
    """The one place the contract builds providers from settings."""
    return Providers.from_settings(settings, http, redis=redis)


@dataclass
class Pbx:
    """One provider's account behind the real web tier."""

    case: ContractCase
    client: httpx.AsyncClient
    redis: Redis

    async def send(self, delivery: Delivery, account: str | None = None) -> httpx.Response:
        return await self.client.request(
            delivery.method,
            f"/pbx/{account or self.case.account['id']}{delivery.path}",
            params=dict(delivery.query),
            headers=dict(delivery.headers),
            content=delivery.body,
        )

    async def stored(self) -> list[PbxEvent]:
        """Every event on the events stream, parsed as a worker reads it."""
        events: list[PbxEvent] = []
        for _, fields in await self.redis.xrange(Keys().events_stream()) or []:
            assert fields is not None
            events.append(decode_event(str(fields["event"])))
        return events

    async def deliver(self, delivery: Delivery) -> list[PbxEvent]:
        """Send a valid request; the events it stored."""
        before = len(await self.stored())
        response = await self.send(delivery)
        assert 200 <= response.status_code < 300, (delivery.path, response.text)
        return (await self.stored())[before:]


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> ContractCase:
    return CASES[request.param]


@pytest_asyncio.fixture
async def pbx(
    case: ContractCase, make_settings: Callable[..., Settings], redis: Redis
) -> AsyncIterator[Pbx]:
    async with AsyncExitStack() as stack:
        overrides = await case.arrange(redis, stack)
        settings = make_settings(accounts=[{**case.account, **overrides}])
        http = await stack.enter_async_context(httpx.AsyncClient())
        app = build_web_app(settings, redis, Metrics())
        stream = EventStream(redis, Keys())
        add_ingest_routes(app, build_providers(settings, http, redis), stream, Metrics())
        url = await stack.enter_async_context(serving(app))
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=url))
        yield Pbx(case, client, redis)


async def test_valid_requests_are_stored_with_the_pbx_payload(pbx: Pbx) -> None:
    stored: list[PbxEvent] = []
    for delivery in pbx.case.valid:
        events = await pbx.deliver(delivery)
        for event in events:
            assert (event.account, event.provider) == (pbx.case.account["id"], pbx.case.provider)
            assert event.raw, f"{delivery.path}: {event.kind} without its payload"
            kept = {name: event.raw.get(name) for name in delivery.sample}
            assert kept == dict(delivery.sample), f"{delivery.path}: {event.kind}"
        stored += events
    assert stored, "no valid request stored an event"
    assert await pbx.stored() == stored


async def test_redelivery_keeps_every_dedupe_key(pbx: Pbx) -> None:
    first = [await pbx.deliver(delivery) for delivery in pbx.case.valid]
    again = [await pbx.deliver(delivery) for delivery in pbx.case.valid]

    for delivery, events, repeated in zip(pbx.case.valid, first, again, strict=True):
        keys = [event.dedupe_key for event in events]
        assert [event.dedupe_key for event in repeated] == keys, delivery.path
    assert any(first), "no valid request stored an event"


@pytest.mark.parametrize("variant", ["forged", "unsigned"])
async def test_unauthenticated_requests_are_403_and_store_nothing(pbx: Pbx, variant: str) -> None:
    delivery: Delivery = getattr(pbx.case, variant)

    response = await pbx.send(delivery)

    assert response.status_code == 403
    assert response.json() == {"error": "forbidden"}
    assert await pbx.stored() == []


async def test_malformed_request_is_400_and_stores_nothing(pbx: Pbx) -> None:
    response = await pbx.send(pbx.case.malformed)

    assert response.status_code == 400
    assert await pbx.stored() == []


async def test_unknown_account_is_404_and_stores_nothing(pbx: Pbx) -> None:
    for delivery in pbx.case.valid:
        response = await pbx.send(delivery, account=UNKNOWN_ACCOUNT)
        assert response.status_code == 404, delivery.path
    assert await pbx.stored() == []
