"""Commands carried out on a live MANGO call: transfer, route, hangup and recording/start
sent over real HTTP, with the signed events a tiny aiohttp receiver gets back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from sandbox.mango import CallRecord, Employee, Group, Line, MangoLimits, MangoSimulator, sign

KEY, SALT = "test-api-key", "test-api-salt"
LINE = "74950000000"
CLIENT = "79001234567"
OUTSIDE = "74957654321"
ANNA = {"extension": "101", "number": "79991112233"}
BORIS = {"extension": "102", "number": "79992223344"}


@dataclass
class Receiver:
    """The external system: every signed POST it got, in order."""

    url: str = ""
    got: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def paths(self) -> list[str]:
        return [path for path, _ in self.got]

    def of(self, path: str) -> list[dict[str, Any]]:
        return [payload for got, payload in self.got if got == path]

    def legs(self) -> dict[str, list[dict[str, Any]]]:
        """events/call grouped by call_id, in order of appearance."""
        found: dict[str, list[dict[str, Any]]] = {}
        for event in self.of("events/call"):
            found.setdefault(event["call_id"], []).append(event)
        return found

    async def until(self, check: Callable[[], bool], timeout: float = 3.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                self.arrived.clear()
                if check():
                    return
                await self.arrived.wait()


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        raw, key, signature = (str(form.get(n, "")) for n in ("json", "vpbx_api_key", "sign"))
        assert key == KEY
        assert signature == sign(KEY, raw, SALT)
        found.got.append((request.match_info["path"], json.loads(raw)))
        found.arrived.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/pbx/{path:.+}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}/pbx"
    try:
        yield found
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture
async def sim(receiver: Receiver) -> AsyncIterator[MangoSimulator]:
    async with MangoSimulator(
        KEY, SALT, webhook_url=receiver.url, limits=MangoLimits.disabled(), step_delay=0.001
    ) as simulator:
        simulator.add_employee(Employee(extension="101", name="Анна", phones=[ANNA["number"]]))
        simulator.add_employee(Employee(extension="102", name="Boris", phones=[BORIS["number"]]))
        simulator.add_employee(Employee(extension="103", name="Vera", sips=["vera@vpbx.ru"]))
        simulator.add_group(Group(id=1, name="Sales", extension="500", members=["101", "102"]))
        simulator.add_line(Line(number=LINE))
        yield simulator


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def command(
    http: httpx.AsyncClient, sim: MangoSimulator, path: str, payload: dict[str, Any]
) -> None:
    text = json.dumps(payload, separators=(",", ":"))
    data = {"vpbx_api_key": KEY, "sign": sign(KEY, text, SALT), "json": text}
    response = await http.post(sim.base_url + path, data=data)
    assert (response.status_code, response.json()) == (200, {"result": 1000})


def states(leg: list[dict[str, Any]]) -> list[str]:
    return [event["call_state"] for event in leg]


def last_state(receiver: Receiver) -> str:
    """The state the latest events/call told."""
    events = receiver.of("events/call")
    return str(events[-1]["call_state"]) if events else ""


async def answered_call(
    sim: MangoSimulator, receiver: Receiver, **options: Any
) -> tuple[asyncio.Task[CallRecord], str]:
    """A live call Анна (101) answered; the task playing it and her leg's call_id."""
    play = sim.play_live_inbound(LINE, CLIENT, ring=["101"], answered_by="101", **options)
    task = asyncio.create_task(play)
    await receiver.until(lambda: last_state(receiver) == "Connected")
    [talk] = [e["call_id"] for e in receiver.of("events/call") if e["call_state"] == "Connected"]
    return task, talk


async def ringing_call(
    sim: MangoSimulator, receiver: Receiver, **options: Any
) -> tuple[asyncio.Task[CallRecord], dict[str, str]]:
    """A live group call ringing 101 and 102; the ringing legs' call_ids by extension."""
    play = sim.play_live_inbound(LINE, CLIENT, ring=["101", "102"], group_id=1, **options)
    task = asyncio.create_task(play)
    await receiver.until(lambda: len(receiver.legs()) == 4)
    ringing = {
        leg[0]["to"]["extension"]: call_id
        for call_id, leg in receiver.legs().items()
        if leg[0]["location"] == "abonent"
    }
    return task, ringing


async def hang_up_client(sim: MangoSimulator, task: asyncio.Task[CallRecord]) -> CallRecord:
    assert sim.end_live_call() == 1
    async with asyncio.timeout(3):
        return await task


# transfer ---------------------------------------------------------------------------
async def test_blind_transfer_to_a_colleague(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    task, talk = await answered_call(sim, receiver)
    payload = {
        "command_id": "t1",
        "call_id": talk,
        "method": "blind",
        "to_number": "102",
        "initiator": "to.extension",
    }
    await command(http, sim, "commands/transfer", payload)
    await receiver.until(lambda: len(receiver.legs()) == 3 and last_state(receiver) == "Connected")
    record = await hang_up_client(sim, task)

    assert receiver.of("result/transfer") == [{"command_id": "t1", "result": 1000}]
    assert sim.commands("commands/transfer") == [payload]
    _, first, new = receiver.legs().values()
    assert states(first) == ["Appeared", "Connected", "OnHold", "Disconnected"]
    assert first[-1]["disconnect_reason"] == 1120
    assert states(new) == ["Appeared", "Appeared", "Connected", "Disconnected"]
    assert [e["seq"] for e in new] == [1, 2, 3, 4]
    assert new[0]["from"] == ANNA
    assert new[1]["from"] == {"number": CLIENT, "taken_from_call_id": talk}
    assert all(e["to"] == BORIS for e in new)
    assert new[-1]["disconnect_reason"] == 1110
    order = [(e["call_id"], e["call_state"]) for e in receiver.of("events/call")][4:]
    assert order == [
        (talk, "OnHold"),
        (new[0]["call_id"], "Appeared"),
        (talk, "Disconnected"),
        (new[0]["call_id"], "Appeared"),
        (new[0]["call_id"], "Connected"),
        (new[0]["call_id"], "Disconnected"),
    ]
    assert receiver.paths().index("result/transfer") < receiver.paths().index("events/summary")
    [summary] = receiver.of("events/summary")
    assert summary["to"] == BORIS
    assert (summary["entry_result"], summary["disconnect_reason"]) == (1, 1110)
    assert record.call_ids == list(receiver.legs())
    assert sim.live_calls == {}


async def test_blind_transfer_nobody_answers_comes_back_to_the_initiator(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    sim.unanswering.add("102")
    task, talk = await answered_call(sim, receiver)
    payload = {"call_id": talk, "method": "blind", "to_number": "79992223344"}
    await command(http, sim, "commands/transfer", payload | {"initiator": "to.number"})
    await receiver.until(lambda: len(receiver.legs()) == 4 and last_state(receiver) == "Connected")
    await hang_up_client(sim, task)

    _, first, new, back = receiver.legs().values()
    assert first[-1]["disconnect_reason"] == 1120
    assert states(new) == ["Appeared", "Appeared", "Disconnected"]
    assert new[-1]["disconnect_reason"] == 1111
    assert states(back) == ["Appeared", "Connected", "Disconnected"]
    assert back[0]["from"] == {"number": CLIENT, "taken_from_call_id": new[0]["call_id"]}
    assert back[0]["to"] == ANNA
    assert receiver.of("events/summary")[0]["to"] == ANNA


async def test_consultative_transfer_hands_the_client_over(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    task, talk = await answered_call(sim, receiver)
    payload = {"command_id": "t2", "call_id": talk, "method": "hold", "to_number": "102"}
    await command(http, sim, "commands/transfer", payload | {"initiator": "to.extension"})
    await receiver.until(lambda: states(list(receiver.legs().values())[-1]).count("Connected") == 2)
    await hang_up_client(sim, task)

    assert receiver.of("result/transfer") == [{"command_id": "t2", "result": 1000}]
    _, first, consult = receiver.legs().values()
    assert states(first) == ["Appeared", "Connected", "OnHold", "Disconnected"]
    assert first[-1]["disconnect_reason"] == 1120
    assert states(consult) == ["Appeared", "Connected", "Connected", "Disconnected"]
    assert consult[0]["from"] == ANNA | {"taken_from_call_id": talk}
    assert consult[1]["from"] == ANNA | {"taken_from_call_id": talk}
    assert consult[2]["from"] == {"number": CLIENT, "taken_from_call_id": talk}
    assert all(e["to"] == BORIS for e in consult)
    order = [(e["call_id"], e["call_state"]) for e in receiver.of("events/call")][4:-1]
    assert [state for _, state in order] == [
        "OnHold",
        "Appeared",
        "Connected",
        "Disconnected",
        "Connected",
    ]
    assert receiver.of("events/summary")[0]["to"] == BORIS


async def test_consultative_transfer_to_nobody_reconnects_the_client(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    sim.unanswering.add(OUTSIDE)
    task, talk = await answered_call(sim, receiver)
    payload = {"call_id": talk, "method": "hold", "to_number": OUTSIDE, "initiator": "to.extension"}
    await command(http, sim, "commands/transfer", payload)
    await receiver.until(lambda: states(receiver.legs()[talk]).count("Connected") == 2)
    await hang_up_client(sim, task)

    _, first, consult = receiver.legs().values()
    assert states(first) == ["Appeared", "Connected", "OnHold", "Connected", "Disconnected"]
    assert states(consult) == ["Appeared", "Disconnected"]
    assert consult[0]["to"] == {"number": OUTSIDE}
    assert consult[-1]["disconnect_reason"] == 1111
    assert receiver.of("events/summary")[0]["to"] == ANNA


async def test_hangup_of_the_consultation_cancels_the_transfer(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    sim.consult_handover_delay = 5
    task, talk = await answered_call(sim, receiver)
    payload = {"call_id": talk, "method": "hold", "to_number": "102", "initiator": "to.extension"}
    await command(http, sim, "commands/transfer", payload)
    await receiver.until(lambda: len(receiver.legs()) == 3 and last_state(receiver) == "Connected")
    consult = list(receiver.legs())[-1]
    await command(http, sim, "commands/call/hangup", {"command_id": "h", "call_id": consult})
    await receiver.until(lambda: states(receiver.legs()[talk])[-1] == "Connected")
    await hang_up_client(sim, task)

    assert receiver.of("result/call/hangup") == [{"command_id": "h", "result": 1000}]
    assert receiver.legs()[consult][-1]["disconnect_reason"] == 1181
    assert states(receiver.legs()[talk])[2:] == ["OnHold", "Connected", "Disconnected"]


@pytest.mark.parametrize(
    ("initiator", "code"),
    [
        ("from.number", 4100),  # the client: only an employee may transfer
        ("from.extension", 3100),  # the client's block has no extension
        ("operator", 3100),
        (None, 3100),
    ],
)
async def test_transfer_refused_for_a_bad_initiator(
    sim: MangoSimulator,
    receiver: Receiver,
    http: httpx.AsyncClient,
    initiator: str | None,
    code: int,
) -> None:
    task, talk = await answered_call(sim, receiver)
    payload = {"command_id": "t3", "call_id": talk, "method": "blind", "to_number": "102"}
    if initiator is not None:
        payload["initiator"] = initiator
    await command(http, sim, "commands/transfer", payload)
    await receiver.until(lambda: "result/transfer" in receiver.paths())
    await hang_up_client(sim, task)

    assert receiver.of("result/transfer") == [{"command_id": "t3", "result": code}]
    _, first = receiver.legs().values()
    assert states(first) == ["Appeared", "Connected", "Disconnected"]


# route ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("to_number", "to"),
    [
        (OUTSIDE, {"number": OUTSIDE}),
        ("103", {"extension": "103", "number": "sip:vera@vpbx.ru", "line_number": LINE}),
    ],
)
async def test_route_a_ringing_call(
    sim: MangoSimulator,
    receiver: Receiver,
    http: httpx.AsyncClient,
    to_number: str,
    to: dict[str, str],
) -> None:
    task, ringing = await ringing_call(sim, receiver)
    payload = {"command_id": "r1", "call_id": ringing["101"], "to_number": to_number}
    await command(http, sim, "commands/route", payload)
    await receiver.until(lambda: last_state(receiver) == "Connected")
    await hang_up_client(sim, task)

    _, queue, anna, boris, new = receiver.legs().values()
    assert [anna[-1]["disconnect_reason"], boris[-1]["disconnect_reason"]] == [1183, 1183]
    assert (queue[-1]["call_state"], queue[-1]["disconnect_reason"]) == ("Disconnected", 1100)
    assert states(new) == ["Appeared", "Connected", "Disconnected"]
    assert {e["command_id"] for e in new} == {"r1"}
    assert new[0]["from"] == {"number": CLIENT, "taken_from_call_id": ringing["101"]}
    assert new[0]["to"] == to
    paths = receiver.paths()
    assert paths.index("result/route") == len(paths) - 4  # Appeared, result, Connected, ...
    assert receiver.of("result/route") == [{"command_id": "r1", "result": 1000}]
    [summary] = receiver.of("events/summary")
    assert summary["to"] == {k: v for k, v in to.items() if k != "line_number"}
    assert summary["entry_result"] == 1


async def test_route_to_nobody_then_the_call_is_missed(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    sim.unanswering.add("103")
    task, ringing = await ringing_call(sim, receiver, ring_timeout=0.3)
    await command(http, sim, "commands/route", {"call_id": ringing["102"], "to_number": "103"})
    async with asyncio.timeout(3):
        await task

    new = list(receiver.legs().values())[-1]
    assert states(new) == ["Appeared", "Disconnected"]
    assert new[-1]["disconnect_reason"] == 1111
    [summary] = receiver.of("events/summary")
    assert (summary["entry_result"], summary["disconnect_reason"]) == (0, 1111)


async def test_a_ringing_call_nobody_routes_is_missed(
    sim: MangoSimulator, receiver: Receiver
) -> None:
    task, _ = await ringing_call(sim, receiver, ring_timeout=0.1)
    async with asyncio.timeout(3):
        await task
    _, queue, *ringing = receiver.legs().values()
    assert [leg[-1]["disconnect_reason"] for leg in ringing] == [1111, 1111]
    assert queue[-1]["disconnect_reason"] == 1160
    assert receiver.of("events/summary")[0]["entry_result"] == 0


async def test_route_refused_on_a_connected_or_unknown_leg(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    task, talk = await answered_call(sim, receiver)
    before = len(receiver.of("events/call"))
    await command(
        http, sim, "commands/route", {"command_id": "r2", "call_id": talk, "to_number": "102"}
    )
    await command(
        http, sim, "commands/route", {"command_id": "r3", "call_id": "nope", "to_number": "102"}
    )
    await receiver.until(lambda: len(receiver.of("result/route")) == 2)
    assert len(receiver.of("events/call")) == before
    await hang_up_client(sim, task)

    results = {r["command_id"]: r["result"] for r in receiver.of("result/route")}
    assert results == {"r2": 4100, "r3": 4101}
    assert len(receiver.legs()) == 2


# hangup and recording ---------------------------------------------------------------
async def test_hangup_ends_the_live_call(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    task, talk = await answered_call(sim, receiver)
    await command(http, sim, "commands/call/hangup", {"command_id": "h1", "call_id": talk})
    async with asyncio.timeout(3):
        await task
    await command(http, sim, "commands/call/hangup", {"command_id": "h2", "call_id": talk})
    await sim.wait_idle()

    assert receiver.of("result/call/hangup") == [
        {"command_id": "h1", "result": 1000},
        {"command_id": "h2", "result": 4101},
    ]
    assert receiver.legs()[talk][-1]["disconnect_reason"] == 1181
    [summary] = receiver.of("events/summary")
    assert summary["disconnect_reason"] == 1181
    assert receiver.paths().index("events/summary") > receiver.paths().index("events/call")
    assert sim.end_live_call() == 0


async def test_recording_start_then_completed_when_the_client_hangs_up(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    task, talk = await answered_call(sim, receiver)
    start = {"call_id": talk, "call_party_number": "79991112233"}
    await command(http, sim, "commands/recording/start", start | {"command_id": "rec1"})
    bad = start | {"command_id": "rec2", "call_party_number": "999"}
    await command(http, sim, "commands/recording/start", bad)
    gone = start | {"command_id": "rec3", "call_id": "nope"}
    await command(http, sim, "commands/recording/start", gone)
    await receiver.until(lambda: len(receiver.of("result/recording/start")) == 3)
    record = await hang_up_client(sim, task)

    results = {r["command_id"]: r["result"] for r in receiver.of("result/recording/start")}
    assert results == {"rec1": 1000, "rec2": 3330, "rec3": 4101}
    started, completed = receiver.of("events/recording")
    assert (started["recording_state"], completed["recording_state"]) == ("Started", "Completed")
    assert started["call_id"] == completed["call_id"] == talk
    assert started["extension"] == "101"
    paths = receiver.paths()
    assert paths.index("result/recording/start") < paths.index("events/recording")
    hung_up = receiver.got.index(("events/call", receiver.legs()[talk][-1]))
    assert receiver.got.index(("events/recording", completed)) == hung_up + 1
    assert record.recording_id == started["recording_id"]
    text = json.dumps({"recording_id": record.recording_id, "action": "download"})
    data = {"vpbx_api_key": KEY, "sign": sign(KEY, text, SALT), "json": text}
    download = await http.post(sim.base_url + "queries/recording/post", data=data)
    assert download.status_code == 302


async def test_the_client_hangs_up_after_the_talk_timeout(
    sim: MangoSimulator, receiver: Receiver
) -> None:
    task, talk = await answered_call(sim, receiver, talk_timeout=0.1)
    async with asyncio.timeout(3):
        await task
    assert receiver.legs()[talk][-1]["disconnect_reason"] == 1110
    assert receiver.of("events/summary")[0]["disconnect_reason"] == 1110
