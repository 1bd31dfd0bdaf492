"""The MTS simulator carries out call control over HTTP (section 4.8): hang-up, blind and
consult transfers and the two redials change live calls and push the events of section 4.7
to the webhook, as a bot would receive them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from sandbox.mts import Abonent, MtsSimulator
from tests.helpers import until

TOKEN = "t"
CLIENT = "+79001234567"
ANNA, BORIS, MARIA = 1735, 1736, 1737


class Received:
    """The notifications the bot's side got, in order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def calls(self) -> list[tuple[str, int, str]]:
        """(eventType, abonentId, state) of every call event."""
        return [
            (e["eventType"], e["abonentId"], e["payload"]["state"])
            for e in self.events
            if "payload" in e
        ]

    def of(self, abonent_id: int) -> list[dict[str, Any]]:
        return [e["payload"] for e in self.events if e.get("abonentId") == abonent_id]

    def clear(self) -> None:
        self.events.clear()


@pytest_asyncio.fixture
async def bot() -> AsyncIterator[tuple[str, Received]]:
    received = Received()

    async def events(request: web.Request) -> web.Response:
        received.events.append(await request.json())
        return web.Response()

    app = web.Application()
    app.router.add_post("/events", events)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/events", received
    await runner.cleanup()


@pytest_asyncio.fixture
async def sim(bot: tuple[str, Received]) -> AsyncIterator[MtsSimulator]:
    async with MtsSimulator(TOKEN, step_delay=0.001) as pbx:
        pbx.add_abonent(Abonent(ANNA, "101", "Anna", phone_number="+79991112233"))
        pbx.add_abonent(Abonent(BORIS, "102", "Boris"))
        pbx.add_abonent(Abonent(MARIA, "103", "Maria"))
        pbx.services["webhook"] = (bot[0], "k")  # every abonent's events, no subscriptions
        yield pbx


@pytest_asyncio.fixture
async def api(sim: MtsSimulator) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"X-AUTH-TOKEN": TOKEN}
    async with httpx.AsyncClient(base_url=sim.base_url, headers=headers) as client:
        yield client


@pytest.fixture
def got(bot: tuple[str, Received]) -> Received:
    return bot[1]


async def test_hang_up_releases_the_live_call(
    sim: MtsSimulator, api: httpx.AsyncClient, got: Received
) -> None:
    call = await sim.play_live_inbound(CLIENT, ring=["101"], answered_by="101")
    [leg] = call.legs
    await asyncio.sleep(0.05)  # it stays up
    assert [c["callId"] for c in (await api.get(f"api/user/{ANNA}/calls")).json()] == [leg.call_id]

    hung = await api.delete(f"api/user/{ANNA}/calls/{leg.call_id}")
    await sim.wait_idle()

    assert hung.status_code == 200
    assert got.calls() == [
        ("CALL_RECEIVED", ANNA, "Alerting"),
        ("CALL_ANSWERED", ANNA, "Active"),
        ("CALL_RELEASED", ANNA, "Released"),
    ]
    released = got.of(ANNA)[-1]
    assert released["callId"] == leg.call_id
    assert released["remotePartyAddress"] == f"tel:{CLIENT}"
    assert released["callDirection"] == "Terminator"
    assert released["answerTime"] and released["endTime"] >= released["answerTime"]
    assert (await api.get(f"api/user/{ANNA}/calls")).json() == []
    assert (await api.delete(f"api/user/{ANNA}/calls/{leg.call_id}")).status_code == 404
    assert sim.live_calls == []
    [row] = sim.history
    assert (row["status"], row["callingNumber"], row["direction"]) == (
        "PLACED",
        CLIENT,
        "TERMINATING",
    )


async def test_a_live_call_lasts_until_ended_or_its_timeouts(
    sim: MtsSimulator, got: Received
) -> None:
    call = await sim.play_live_inbound(CLIENT, ring=["101"], answered_by="101")
    await asyncio.sleep(0.1)
    assert [e for e, *_ in got.calls()] == ["CALL_RECEIVED", "CALL_ANSWERED"]

    assert sim.end_live_call() == 1
    await sim.wait_idle()
    assert got.calls()[-1] == ("CALL_RELEASED", ANNA, "Released")
    assert call.legs == []

    got.clear()
    await sim.play_live_inbound(CLIENT, ring=["101"], answered_by="101", talk_timeout=0.1)
    await until(lambda: len(got.calls()) == 3, patience=2)  # the client hangs up by itself
    assert got.calls()[-1] == ("CALL_RELEASED", ANNA, "Released")

    got.clear()
    await sim.play_live_inbound(CLIENT, ring=["101", "102"], ring_timeout=0.1)
    await until(lambda: len(got.calls()) == 4, patience=2)  # nobody answers: missed
    assert sorted(got.calls()[2:]) == [
        ("CALL_RELEASED", ANNA, "Released"),
        ("CALL_RELEASED", BORIS, "Released"),
    ]
    assert all(p["answerTime"] == 0 for p in got.of(BORIS))
    assert [row["status"] for row in sim.history[-2:]] == ["MISSED", "MISSED"]
    assert sim.live_calls == []


async def test_a_ringing_leg_hung_up_declines_alone(
    sim: MtsSimulator, api: httpx.AsyncClient, got: Received
) -> None:
    call = await sim.play_live_inbound(CLIENT, ring=["101", "102"])
    anna, boris = call.legs

    await api.delete(f"api/user/{ANNA}/calls/{anna.call_id}")
    await sim.wait_idle()

    assert got.calls()[-1] == ("CALL_RELEASED", ANNA, "Released")
    assert call.legs == [boris]
    assert boris.state == "Alerting"
    sim.end_live_call(boris)
    await sim.wait_idle()
    assert got.calls()[-1] == ("CALL_RELEASED", BORIS, "Released")


async def test_hanging_up_a_scripted_call_is_announced_once(
    sim: MtsSimulator, api: httpx.AsyncClient, got: Received
) -> None:
    playing = asyncio.create_task(sim.ring_group(CLIENT, ["101"], answered_by="101", talk=0.3))
    await until(lambda: len(got.calls()) == 2)
    [leg] = sim.live_legs(ANNA)

    await api.delete(f"api/user/{ANNA}/calls/{leg.call_id}")
    await playing
    await sim.wait_idle()

    assert [e for e, *_ in got.calls()] == ["CALL_RECEIVED", "CALL_ANSWERED", "CALL_RELEASED"]
    assert len(sim.history) == 1


async def test_blind_transfer_to_an_extension(
    sim: MtsSimulator, api: httpx.AsyncClient, got: Received
) -> None:
    call = await sim.play_live_inbound(CLIENT, ring=["101"], answered_by="101")
    [anna] = call.legs

    moved = await api.put(
        f"api/user/{ANNA}/calls/{anna.call_id}/BlindTransfer", params={"address": "102"}
    )
    await sim.wait_idle()

    assert moved.status_code == 200
    assert got.calls()[2:] == [
        ("CALL_RELEASED", ANNA, "Released"),
        ("CALL_RECEIVED", BORIS, "Alerting"),
        ("CALL_ANSWERED", BORIS, "Active"),
    ]
    [boris] = call.legs
    ringing = got.of(BORIS)[0]
    assert ringing["callId"] == boris.call_id
    assert ringing["remotePartyAddress"] == f"tel:{CLIENT}"
    assert ringing["callDirection"] == "Terminator"
    # the same call: the bot groups both halves by the extTrackingId before "callhalf-"
    assert (
        ringing["extTrackingId"].split("callhalf-")[0] == anna.ext_tracking_id.split("callhalf-")[0]
    )
    assert sim.transfers == [(ANNA, anna.call_id, "102")]
    assert (await api.get(f"api/user/{ANNA}/calls")).json() == []
    info = (await api.get(f"api/user/{BORIS}/calls/{boris.call_id}")).json()
    assert (info["state"], info["remotePartyAddress"]) == ("Active", f"tel:{CLIENT}")
    assert sim.last_caller[BORIS] == CLIENT

    sim.end_live_call(call)
    await sim.wait_idle()
    transferred = sim.history[-1]
    assert transferred["redirectingNumber"] == "+79991112233"
    assert transferred["redirectingReason"] == "DEFLECTION"


async def test_blind_transfer_to_an_abonent_who_does_not_answer(
    sim: MtsSimulator, api: httpx.AsyncClient, got: Received
) -> None:
    sim.unanswering = {"102"}
    call = await sim.play_live_inbound(CLIENT, ring=["101"], answered_by="101", ring_timeout=0.1)
    [anna] = call.legs

    await api.put(f"api/user/{ANNA}/calls/{anna.call_id}/BlindTransfer", params={"address": "102"})
    await until(lambda: len(got.calls()) == 5, patience=2)

    assert got.calls()[2:] == [
        ("CALL_RELEASED", ANNA, "Released"),
        ("CALL_RECEIVED", BORIS, "Alerting"),
        ("CALL_RELEASED", BORIS, "Released"),
    ]
    assert sim.live_calls == []
    await sim.wait_idle()
    # Rows are written as legs end, in any order: Boris's is the one for 102.
    [borises] = [row for row in sim.history if row["userId"].startswith("102@")]
    assert borises["status"] == "MISSED"


async def test_blind_transfer_to_outside_numbers(
    sim: MtsSimulator, api: httpx.AsyncClient, got: Received
) -> None:
    call = await sim.play_live_inbound(CLIENT, ring=["102"], answered_by="102")
    [boris] = call.legs

    await api.put(
        f"api/user/{BORIS}/calls/{boris.call_id}/BlindTransfer",
        params={"address": "89007654321"},
    )
    await sim.wait_idle()

    assert got.calls()[2:] == [("CALL_RELEASED", BORIS, "Released")]
    assert sim.bridged == [(CLIENT, "+79007654321")]
    assert sim.live_calls == []

    # a mobile abonent's number reaches the abonent
    again = await sim.play_live_inbound(CLIENT, ring=["102"], answered_by="102")
    [boris] = again.legs
    await api.put(
        f"api/user/{BORIS}/calls/{boris.call_id}/BlindTransfer",
        params={"address": "89991112233"},
    )
    await sim.wait_idle()
    assert got.calls()[-2:] == [
        ("CALL_RECEIVED", ANNA, "Alerting"),
        ("CALL_ANSWERED", ANNA, "Active"),
    ]


async def test_blind_transfer_refusals(sim: MtsSimulator, api: httpx.AsyncClient) -> None:
    call = await sim.play_live_inbound(CLIENT, ring=["101"], answered_by="101")
    [anna] = call.legs
    path = f"api/user/{ANNA}/calls/{anna.call_id}/BlindTransfer"

    assert (await api.put(path, params={"address": "109"})).status_code == 404
    assert (await api.put(path, params={"address": "12345678"})).status_code == 400
    assert (await api.put(path, params={"address": "+79007654321"})).status_code == 400
    assert (await api.put(path)).status_code == 400
    assert anna.state == "Active"
    assert sim.transfers == []


async def test_consult_transfer_joins_the_held_client_and_the_colleague(
    sim: MtsSimulator, api: httpx.AsyncClient, got: Received
) -> None:
    first = await sim.play_live_inbound(CLIENT, ring=["101"], answered_by="101")
    second = await sim.play_live_outbound("101", "103")
    [held] = first.legs
    consulting, maria = second.legs
    await sim.wait_idle()

    assert got.calls()[2:] == [
        ("CALL_ORIGINATED", ANNA, "Alerting"),
        ("CALL_RECEIVED", MARIA, "Alerting"),
        ("CALL_ANSWERED", MARIA, "Active"),
        ("CALL_ANSWERED", ANNA, "Active"),
    ]
    assert got.of(ANNA)[-1]["callDirection"] == "Originator"
    assert got.of(MARIA)[-1]["remotePartyAddress"] == "tel:101"
    info = (await api.get(f"api/user/{ANNA}/calls/{held.call_id}")).json()
    assert info["state"] == "Held"

    joined = await api.put(
        f"api/user/{ANNA}/calls/{held.call_id}/ConsultTransfer/{consulting.call_id}"
    )
    await sim.wait_idle()

    assert joined.status_code == 200
    assert got.calls()[6:] == [
        ("CALL_RELEASED", ANNA, "Released"),
        ("CALL_RELEASED", ANNA, "Released"),
    ]
    assert [p["callId"] for p in got.of(ANNA)[-2:]] == [held.call_id, consulting.call_id]
    assert (await api.get(f"api/user/{ANNA}/calls")).json() == []
    assert first.legs == [maria]
    info = (await api.get(f"api/user/{MARIA}/calls/{maria.call_id}")).json()
    assert (info["state"], info["remotePartyAddress"]) == ("Active", f"tel:{CLIENT}")
    assert sim.transfers == [(ANNA, held.call_id, consulting.call_id)]
    assert sim.live_calls == [first]

    sim.end_live_call()
    await sim.wait_idle()
    assert got.calls()[-1] == ("CALL_RELEASED", MARIA, "Released")


async def test_consult_transfer_to_an_outside_number(
    sim: MtsSimulator, api: httpx.AsyncClient, got: Received
) -> None:
    first = await sim.play_live_inbound(CLIENT, ring=["101"], answered_by="101")
    second = await sim.play_live_outbound("101", "+79007654321")
    [held], [consulting] = first.legs, second.legs
    path = f"api/user/{ANNA}/calls/{held.call_id}"

    assert (await api.put(f"{path}/ConsultTransfer/{held.call_id}")).status_code == 400
    assert (await api.put(f"{path}/ConsultTransfer/nope")).status_code == 404
    await api.put(f"{path}/ConsultTransfer/{consulting.call_id}")
    await sim.wait_idle()

    assert got.calls()[2:] == [
        ("CALL_ORIGINATED", ANNA, "Alerting"),
        ("CALL_ANSWERED", ANNA, "Active"),
        ("CALL_RELEASED", ANNA, "Released"),
        ("CALL_RELEASED", ANNA, "Released"),
    ]
    assert sim.bridged == [(CLIENT, "+79007654321")]
    assert sim.live_calls == []


async def test_call_return_and_last_number_redial(
    sim: MtsSimulator, api: httpx.AsyncClient, got: Received
) -> None:
    for what in ("CallReturn", "LastNumberRedial"):
        assert (await api.post(f"api/user/{ANNA}/calls/{what}")).status_code == 404
    outbound = await sim.play_live_outbound("101", "+79007654321")
    sim.end_live_call(outbound)
    # outgoing calls are not called back (4.8.7)
    assert (await api.post(f"api/user/{ANNA}/calls/CallReturn")).status_code == 404
    missed = await sim.play_live_inbound(CLIENT, ring=["101"], ring_timeout=0.05)
    await until(lambda: missed.legs == [])
    await sim.wait_idle()
    got.clear()

    back = await api.post(f"api/user/{ANNA}/calls/CallReturn")
    await sim.wait_idle()
    redial = await api.post(f"api/user/{ANNA}/calls/LastNumberRedial")
    await sim.wait_idle()

    assert back.status_code == redial.status_code == 200
    assert back.json()["inConference"] is False
    assert [e for e, *_ in got.calls()] == ["CALL_ORIGINATED", "CALL_ANSWERED", "CALL_RELEASED"] * 2
    returned, redialled = got.of(ANNA)[0], got.of(ANNA)[3]
    assert returned["callId"] == back.json()["callId"]
    assert returned["remotePartyAddress"] == f"tel:{CLIENT}"
    assert returned["callDirection"] == "Click-to-Dial"
    # the call back was the last number dialled
    assert redialled["callId"] == redial.json()["callId"]
    assert redialled["remotePartyAddress"] == f"tel:{CLIENT}"


async def test_click_to_call_can_stay_up(
    sim: MtsSimulator, api: httpx.AsyncClient, got: Received
) -> None:
    sim.live_click_to_call = True
    await api.post(f"api/user/{BORIS}/calls", params={"address": "tel:+79007654321"})
    await sim.wait_idle()
    await asyncio.sleep(0.05)
    assert [e for e, *_ in got.calls()] == ["CALL_ORIGINATED", "CALL_ANSWERED"]
    [leg] = sim.live_legs(BORIS)

    await api.delete(f"api/user/{BORIS}/calls/{leg.call_id}")
    await sim.wait_idle()

    assert got.calls()[-1] == ("CALL_RELEASED", BORIS, "Released")
    assert sim.history[-1]["direction"] == "ORIGINATING"


async def test_consult_transfer_while_the_colleague_still_rings(
    sim: MtsSimulator, api: httpx.AsyncClient, got: Received
) -> None:
    sim.unanswering = {"103"}
    # the joined call keeps the first call's timeouts
    first = await sim.play_live_inbound(CLIENT, ring=["101"], answered_by="101", ring_timeout=0.2)
    second = await sim.play_live_outbound("101", "103")
    [held], [consulting, maria] = first.legs, second.legs

    await api.put(f"api/user/{ANNA}/calls/{held.call_id}/ConsultTransfer/{consulting.call_id}")
    await sim.wait_idle()

    assert maria.state == "Alerting"
    assert maria.remote == CLIENT
    await until(lambda: maria.ended, patience=2)  # the joined call rings out
    await sim.wait_idle()
    assert got.calls()[-1] == ("CALL_RELEASED", MARIA, "Released")
    assert ("CALL_ANSWERED", MARIA, "Active") not in got.calls()
    assert sim.live_calls == []
