"""The MTS simulator keeps to the doc: the token on every request, subscriptions that expire
with SUBSCRIPTION_TERMINATION, notifications only for subscribed abonents, CHECK_ALIVE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from aiohttp import web

from sandbox.mts import Abonent, MtsSimulator


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[str | None, dict[str, Any]]]]]:
    got: list[tuple[str | None, dict[str, Any]]] = []

    async def events(request: web.Request) -> web.Response:
        got.append((request.headers.get("X-AUTH-TOKEN"), await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/events", events)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/events", got
    await runner.cleanup()


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[MtsSimulator]:
    async with MtsSimulator("t", lifetime=0.5, step_delay=0.001) as pbx:
        pbx.add_abonent(Abonent(1, "101", "Anna"))
        pbx.add_abonent(Abonent(2, "102", "Boris"))
        yield pbx


async def test_requests_need_the_token(sim: MtsSimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        assert (await client.get("api/abonents")).status_code == 401
        assert (await client.get("api/abonents", headers={"X-AUTH-TOKEN": "x"})).status_code == 401
        ok = await client.get(
            "api/abonents", headers={"X-AUTH-TOKEN": "t"}, params={"extension": "102"}
        )
    assert [a["userId"] for a in ok.json()] == [2]


async def test_only_subscribed_abonents_are_notified_until_expiry(
    sim: MtsSimulator, receiver: tuple[str, list[tuple[str | None, dict[str, Any]]]]
) -> None:
    url, got = receiver
    headers = {"X-AUTH-TOKEN": "t"}
    async with httpx.AsyncClient(base_url=sim.base_url, headers=headers) as client:
        enabled = await client.post(
            "api/service/apicrm", json={"callbackUrl": url, "clientApiKey": "k"}
        )
        made = await client.post("api/subscription", json={"abonentId": 1})
    assert enabled.status_code == 200
    assert made.json()["expires"] == 0  # rounded: the test lifetime is 0.5 s

    await sim.ring_group("+79001234567", ["101", "102"], answered_by="101")
    assert {e["abonentId"] for _, e in got} == {1}
    assert [e["eventType"] for _, e in got] == ["CALL_RECEIVED", "CALL_ANSWERED", "CALL_RELEASED"]
    assert {token for token, _ in got} == {"k"}
    payload = got[0][1]["payload"]
    assert payload["remotePartyAddress"] == "tel:+79001234567"
    assert payload["callDirection"] == "Terminator"

    for _ in range(100):  # the subscription runs out
        if sim.delivered("SUBSCRIPTION_TERMINATION"):
            break
        await asyncio.sleep(0.05)
    assert got[-1][1] == {"eventType": "SUBSCRIPTION_TERMINATION", "abonentId": 1}
    count = len(got)
    await sim.ring_group("+79001234567", ["101"])
    assert len(got) == count  # no subscription, no events
    assert await sim.probe() == [200]
    assert got[-1][1] == {"eventType": "CHECK_ALIVE"}
