"""The MANGO simulator over real HTTP: httpx as the bot's client, a tiny aiohttp server
as the external system that receives the signed events.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from sandbox.mango import (
    Campaign,
    CampaignTask,
    Employee,
    Group,
    Line,
    MangoLimits,
    MangoSimulator,
    recording_link_sign,
    sign,
)

KEY, SALT = "test-api-key", "test-api-salt"
LINE = "74950000000"
CLIENT = "79001234567"


@dataclass
class Posted:
    path: str
    payload: dict[str, Any]
    raw: str
    signed: bool


@dataclass
class Receiver:
    """The external system: keeps every POST and whether its signature was right."""

    url: str = ""
    got: list[Posted] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def paths(self) -> list[str]:
        return [p.path for p in self.got]

    def of(self, path: str) -> list[dict[str, Any]]:
        return [p.payload for p in self.got if p.path == path]


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        raw, key, signature = (str(form.get(n, "")) for n in ("json", "vpbx_api_key", "sign"))
        good = key == KEY and signature == sign(KEY, raw, SALT)
        path = request.match_info["path"]
        found.got.append(Posted(path, json.loads(raw), raw, good))
        found.arrived.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/pbx/main/{path:.+}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}/pbx/main"
    try:
        yield found
    finally:
        await runner.cleanup()


def populate(sim: MangoSimulator) -> None:
    sim.add_employee(Employee(extension="101", name="Анна Петрова", phones=["79991112233"]))
    sim.add_employee(Employee(extension="102", name="Boris Ivanov", phones=["79992223344"]))
    sim.add_employee(Employee(extension="103", name="Vera", sips=["vera@vpbx.mangosip.ru"]))
    sim.add_group(Group(id=1, name="Sales", extension="500", members=["101", "102", "103"]))
    sim.add_line(Line(number=LINE, name="Main line"))


@pytest_asyncio.fixture
async def sim(receiver: Receiver) -> AsyncIterator[MangoSimulator]:
    async with MangoSimulator(
        KEY, SALT, webhook_url=receiver.url, limits=MangoLimits.disabled(), step_delay=0.001
    ) as simulator:
        populate(simulator)
        yield simulator


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def form(payload: Any, *, key: str = KEY, salt: str = SALT) -> dict[str, str]:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return {"vpbx_api_key": key, "sign": sign(key, text, salt), "json": text}


async def call(
    http: httpx.AsyncClient, sim: MangoSimulator, path: str, payload: Any
) -> httpx.Response:
    return await http.post(sim.base_url + path, data=form(payload))


def legs(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_leg: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_leg.setdefault(event["call_id"], []).append(event)
    return by_leg


def test_signatures_known_answers() -> None:
    # printf %s 'key{"a":1}salt' | sha256sum
    expected = "0a14249b7c9fe83386698debbe9dd7e4a3c0adca8a825e1b5b6d2ed4dfb58f00"
    assert sign("key", '{"a":1}', "salt") == expected
    # printf %s 'key1441894484r100:777:500:256salt' | sha256sum
    link = "cefc49baab2b8dbbf24d949a1db624c064a8429277a8eaeff310de293046516c"
    assert recording_link_sign("key", 1441894484, "r100:777:500:256", "salt") == link


async def test_callback_answers_then_posts_result_and_events(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    payload = {"command_id": "cbk1", "from": {"extension": "101"}, "to_number": CLIENT}
    response = await call(http, sim, "commands/callback", payload)
    assert response.status_code == 200
    assert response.json() == {"result": 1000}
    await sim.wait_idle()

    assert all(p.signed for p in receiver.got)
    assert receiver.got[0].path == "result/callback"
    assert receiver.got[0].payload == {"command_id": "cbk1", "result": 1000}
    calls = receiver.of("events/call")
    assert {e["command_id"] for e in calls} == {"cbk1"}
    first, second = legs(calls).values()
    assert [e["call_state"] for e in first] == ["Appeared", "Connected", "Disconnected"]
    assert [e["call_state"] for e in second] == ["Appeared", "Connected", "Disconnected"]
    for leg in (first, second):
        assert [e["seq"] for e in leg] == [1, 2, 3]
    assert first[0]["to"] == {"extension": "101", "number": "79991112233"}
    assert second[0]["from"]["taken_from_call_id"] == first[0]["call_id"]
    assert second[0]["to"] == {"number": CLIENT}
    [summary] = receiver.of("events/summary")
    assert summary["entry_result"] == 1
    assert summary["call_direction"] == 2
    assert summary["end_time"] - summary["talk_time"] == 30
    assert summary["line_number"] == LINE
    started, completed = receiver.of("events/recording")
    assert (started["recording_state"], completed["recording_state"]) == ("Started", "Completed")
    assert receiver.paths()[-1] == "events/summary"
    assert sim.commands("commands/callback") == [payload]
    assert [s for _, _, s in sim.posted] == [200] * len(receiver.got)

    download = await call(
        http,
        sim,
        "queries/recording/post",
        {"recording_id": completed["recording_id"]} | {"action": "download"},
    )
    assert download.status_code == 302


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"vpbx_api_key": KEY, "json": "{}"}, 3103),
        ({"vpbx_api_key": "other", "sign": sign("other", "{}", SALT), "json": "{}"}, 3105),
        ({"vpbx_api_key": KEY, "sign": sign(KEY, "{}", "wrong"), "json": "{}"}, 3102),
        ({"vpbx_api_key": KEY, "sign": sign(KEY, "{", SALT), "json": "{"}, 3104),
    ],
)
async def test_authentication_errors(
    sim: MangoSimulator, http: httpx.AsyncClient, fields: dict[str, str], code: int
) -> None:
    response = await http.post(sim.base_url + "account/balance", data=fields)
    assert response.status_code == 420
    assert response.json() == {"code": code}
    assert sim.requests[-1].result_code == code
    assert sim.commands("account/balance") == []


async def test_get_is_not_post(sim: MangoSimulator, http: httpx.AsyncClient) -> None:
    response = await http.get(sim.base_url + "account/balance")
    assert (response.status_code, response.json()) == (420, {"code": 3101})
    assert (await http.post(sim.base_url + "no/such/method", data=form({}))).status_code == 404


async def test_signature_is_checked_over_the_json_as_sent(
    sim: MangoSimulator, http: httpx.AsyncClient
) -> None:
    text = '{"extension":"\\u0031\\u0030\\u0031"}'
    fields = {"vpbx_api_key": KEY, "sign": sign(KEY, text, SALT), "json": text}
    response = await http.post(sim.base_url + "config/users/request", data=fields)
    assert response.status_code == 200
    assert [u["telephony"]["extension"] for u in response.json()["users"]] == ["101"]


async def test_rate_limits_answer_503(http: httpx.AsyncClient) -> None:
    body = {"name": "Service Unavailable", "message": "Rate limit exceeded.", "code": 0}
    async with MangoSimulator(KEY, SALT) as sim:
        first = await call(http, sim, "config/users/request", {})
        second = await call(http, sim, "config/users/request", {})
        assert first.status_code == 200
        assert second.status_code == 503
        assert second.json() == body | {"status": 503}
        statuses = [(await call(http, sim, "incominglines", {})).status_code for _ in range(10)]
        assert statuses == [200] * 9 + [503]


async def test_users_request_shapes(sim: MangoSimulator, http: httpx.AsyncClient) -> None:
    plain = (await call(http, sim, "config/users/request", {"extension": "101"})).json()
    assert plain == {
        "users": [
            {
                "general": {
                    "name": "Анна Петрова",
                    "email": "",
                    "department": "",
                    "position": "",
                },
                "telephony": {
                    "extension": "101",
                    "outgoingline": None,
                    "numbers": [
                        {
                            "number": "79991112233",
                            "protocol": "tel",
                            "order": "0",
                            "wait_sec": "120",
                            "status": "on",
                        }
                    ],
                },
            }
        ]
    }
    extended = await call(
        http, sim, "config/users/request", {"ext_fields": ["groups", "general.user_id"]}
    )
    users = {u["telephony"]["extension"]: u for u in extended.json()["users"]}
    assert set(users) == {"101", "102", "103"}
    assert users["101"]["groups"] == [1]
    assert isinstance(users["101"]["general"]["user_id"], int)
    assert users["103"]["telephony"]["numbers"][0] == {
        "number": "sip:vera@vpbx.mangosip.ru",
        "protocol": "sip",
        "order": 0,
        "wait_sec": 120,
        "status": "on",
    }
    groups = (await call(http, sim, "groups", {"show_users": 1})).json()
    assert groups["result"] == 1000
    assert [o["extension"] for o in groups["groups"][0]["operators"]] == ["101", "102", "103"]
    lines = (await call(http, sim, "incominglines", {})).json()
    assert lines["lines"][0]["number"] == LINE
    balance = (await call(http, sim, "account/balance", {})).json()
    assert (balance["result"], balance["balance"], balance["currency"]) == (1000, 1234.5, "RUB")


async def test_recording_redirects_once_to_a_streamed_file(
    sim: MangoSimulator, http: httpx.AsyncClient
) -> None:
    audio = b"ID3" + bytes(range(256)) * 300
    sim.add_recording("MTo4MzE0NjoyODU4NzI0NjQ1OjA=", audio, ready_after=1)
    ask = {"recording_id": "MTo4MzE0NjoyODU4NzI0NjQ1OjA=", "action": "download"}
    not_yet = await call(http, sim, "queries/recording/post", ask)
    assert (not_yet.status_code, not_yet.json()) == (420, {"code": 3320})
    found = await call(http, sim, "queries/recording/post", ask)
    assert found.status_code == 302
    location = found.headers["Location"]
    assert location.startswith(sim.base_url.removesuffix("vpbx/") + "files/")

    async with http.stream("GET", location) as file:
        assert file.status_code == 200
        assert file.headers["Content-Type"] == "audio/mpeg"
        assert file.headers["Transfer-Encoding"] == "chunked"
        received = b"".join([chunk async for chunk in file.aiter_bytes()])
    assert received == audio
    assert (await http.get(location)).status_code == 404

    expires = int(time.time()) + 60
    rid = ask["recording_id"]
    signature = recording_link_sign(KEY, expires, rid, SALT)
    url = f"{sim.base_url}queries/recording/link/{rid}/play/{KEY}/{expires}/{signature}"
    linked = await http.get(url)
    assert linked.status_code == 302
    assert (await http.get(linked.headers["Location"])).content == audio
    bad = await http.get(url.replace(signature, "0" * 64))
    assert (bad.status_code, bad.json()) == (420, {"code": 3102})


async def test_stats_are_204_until_ready_then_csv(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    record = await sim.play_inbound(LINE, CLIENT, group_id=1, answered_by="102")
    now = int(time.time())
    request = {
        "date_from": str(now - 3600),
        "date_to": str(now + 3600),
        "fields": "records,start,finish,answer,from_number,to_extension,entry_id",
        "request_id": "request222320",
    }
    key = (await call(http, sim, "stats/request", request)).json()["key"]
    assert (await call(http, sim, "stats/result", {"key": key})).status_code == 204
    ready = await call(http, sim, "stats/result", {"key": key})
    assert ready.status_code == 200
    [line] = ready.text.splitlines()
    fields = line.split(";")
    assert fields[0] == f"[{record.recording_id}]"
    assert fields[4:] == [CLIENT, "102", record.entry_id]
    assert (await call(http, sim, "stats/result", {"key": key})).status_code == 404
    await sim.wait_idle()
    assert receiver.of("result/stats") == [{"key": key, "request_id": "request222320"}]


async def test_inbound_group_call_answered_by_one(sim: MangoSimulator, receiver: Receiver) -> None:
    record = await sim.play_inbound(LINE, CLIENT, group_id=1, answered_by="102", dtmf="1")
    assert all(p.signed for p in receiver.got)
    by_leg = legs(receiver.of("events/call"))
    assert list(by_leg) == record.call_ids
    ivr, queue, *ringing = by_leg.values()
    assert [e["location"] for e in ivr] == ["ivr", "ivr"]
    assert queue[0]["location"] == "queue"
    assert queue[0]["to"]["acd_group"] == "500"
    states = {leg[0]["to"]["extension"]: [e["call_state"] for e in leg] for leg in ringing}
    assert states == {
        "101": ["Appeared", "Disconnected"],
        "102": ["Appeared", "Connected", "Disconnected"],
        "103": ["Appeared", "Disconnected"],
    }
    for leg in ringing:
        assert leg[0]["to"]["acd_group"] == "500"
        assert leg[0]["from"]["taken_from_call_id"] == queue[0]["call_id"]
        assert [e["seq"] for e in leg] == list(range(1, len(leg) + 1))
        if leg[0]["to"]["extension"] != "102":
            assert leg[-1]["disconnect_reason"] == 1182
    [summary] = receiver.of("events/summary")
    assert summary["entry_result"] == 1
    assert summary["call_direction"] == 1
    assert summary["to"] == {"extension": "102", "number": "79992223344"}
    assert summary["from"] == {"number": CLIENT}
    assert summary["line_number"] == LINE
    assert 0 < summary["forward_time"] <= summary["talk_time"] < summary["end_time"]
    [dtmf] = receiver.of("events/dtmf")
    assert (dtmf["dtmf"], dtmf["initiator"], dtmf["line_number"]) == ("1", CLIENT, LINE)


async def test_inbound_group_call_missed_by_all(sim: MangoSimulator, receiver: Receiver) -> None:
    await sim.play_inbound(LINE, CLIENT, group_id=1)
    _, queue, *ringing = legs(receiver.of("events/call")).values()
    assert [leg[-1]["disconnect_reason"] for leg in ringing] == [1111, 1111, 1111]
    assert queue[-1]["disconnect_reason"] == 1160
    [summary] = receiver.of("events/summary")
    assert summary["entry_result"] == 0
    assert (summary["talk_time"], summary["forward_time"]) == (0, 0)
    assert summary["to"] == {"extension": "500"}
    assert receiver.of("events/recording") == []


async def test_abandoned_in_ivr(sim: MangoSimulator, receiver: Receiver) -> None:
    await sim.play_inbound(LINE, CLIENT, group_id=1, abandon_in_ivr=True)
    [ivr] = legs(receiver.of("events/call")).values()
    assert [(e["location"], e["call_state"]) for e in ivr] == [
        ("ivr", "Appeared"),
        ("ivr", "Disconnected"),
    ]
    [summary] = receiver.of("events/summary")
    assert (summary["entry_result"], summary["to"], summary["disconnect_reason"]) == (0, {}, 1110)


async def test_duplicate_delivery_posts_everything_twice(
    sim: MangoSimulator, receiver: Receiver
) -> None:
    sim.delivery = "duplicate"
    record = await sim.play_callback("101", CLIENT, command_id="c1", record=False)
    assert len(receiver.got) == 2 * len(record.posted)
    assert [p.payload for p in receiver.got[::2]] == [p for _, p in record.posted]
    assert [p.payload for p in receiver.got[1::2]] == [p for _, p in record.posted]


async def test_out_of_order_delivery_keeps_seq_truthful(
    sim: MangoSimulator, receiver: Receiver
) -> None:
    sim.delivery = "out_of_order"
    await sim.play_callback("101", CLIENT, command_id="c1")
    for leg in legs(receiver.of("events/call")).values():
        assert [e["seq"] for e in leg] != sorted(e["seq"] for e in leg)
        ordered = sorted(leg, key=lambda e: e["seq"])
        assert ordered[0]["call_state"] == "Appeared"
        assert ordered[-1]["call_state"] == "Disconnected"
    assert receiver.paths()[-1] == "events/summary"


@pytest.mark.parametrize("escape", [False, True])
async def test_escape_unicode_both_ways_verify(receiver: Receiver, escape: bool) -> None:
    async with MangoSimulator(
        KEY, SALT, webhook_url=receiver.url, escape_unicode=escape, step_delay=0
    ) as sim:
        status = await sim.post("events/sms", {"command_id": "Привет/1", "reason": 1000})
    assert status == 200
    [got] = receiver.got
    assert got.signed
    assert got.payload["command_id"] == "Привет/1"
    assert ("\\u041f" in got.raw) is escape
    assert ("Привет" in got.raw) is not escape


async def test_sms_length_and_delivery(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    sms = {"command_id": "s1", "from_extension": "101", "to_number": CLIENT}
    too_long = await call(http, sim, "commands/sms", sms | {"text": "я" * 269})
    assert (too_long.status_code, too_long.json()) == (420, {"code": 3100})
    latin = await call(http, sim, "commands/sms", sms | {"text": "a" * 613})
    assert latin.status_code == 420
    assert (await call(http, sim, "commands/sms", sms | {"text": "я" * 268})).json() == {
        "result": 1000
    }
    await sim.wait_idle()
    assert receiver.of("result/sms") == [{"command_id": "s1", "result": 1000}]
    [event] = receiver.of("events/sms")
    assert (event["command_id"], event["reason"]) == ("s1", 1000)
    await sim.play_sms("s2", delivered=False)
    assert receiver.of("events/sms")[-1]["reason"] == 4300


async def test_hangup_ends_a_live_call(
    sim: MangoSimulator, receiver: Receiver, http: httpx.AsyncClient
) -> None:
    sim.step_delay = 0.05
    sim.spawn(sim.play_callback("101", CLIENT, command_id="c1"))
    async with asyncio.timeout(2):
        while "events/call" not in receiver.paths():
            receiver.arrived.clear()
            await receiver.arrived.wait()
    call_id = next(iter(sim.live_legs))
    hang = {"command_id": "h1", "call_id": call_id}
    assert (await call(http, sim, "commands/call/hangup", hang)).json() == {"result": 1000}
    await sim.wait_idle()
    assert receiver.of("result/call/hangup") == [{"command_id": "h1", "result": 1000}]
    ended = [e for e in receiver.of("events/call") if e["call_id"] == call_id]
    assert ended[-1]["disconnect_reason"] == 1181
    assert receiver.paths()[-1] == "events/summary"
    again = await call(http, sim, "commands/call/hangup", hang | {"command_id": "h2"})
    assert again.json() == {"result": 1000}
    await sim.wait_idle()
    assert receiver.of("result/call/hangup")[-1] == {"command_id": "h2", "result": 4101}


async def test_campaign_status_numbering(sim: MangoSimulator, http: httpx.AsyncClient) -> None:
    start = datetime(2018, 10, 12, tzinfo=UTC)
    sim.add_campaign(
        Campaign(
            campaign_id=16064,
            name="campaignName1",
            status=0,
            members=["101"],
            start=start,
            end=start + timedelta(days=3650),
            tasks=[CampaignTask(campaign_task_id=2489649, number="+74995530896")],
        )
    )
    for path in ("campaign/get_list", "io/v1/campaign/get_list"):
        listed = (await call(http, sim, path, {})).json()
        assert listed["campaigns"][0]["status"] == 4  # list: 4 - остановлена
        assert listed["campaigns"][0]["start"] == "2018.10.12 03:00:00"
        assert listed["campaigns"][0]["tasks_count"] == 1
    info = (await call(http, sim, "campaign", {"campaign_id": "16064"})).json()
    assert (info["result"], info["campaign"]["status"]) == (1000, 0)  # info: 0 - остановлена
    assert info["campaign"]["members"] == ["101"]
    started = (await call(http, sim, "campaign/start", {"campaign_id": "16064"})).json()
    assert started == {"result": 1000, "status": 2}
    stopped = (await call(http, sim, "campaign/stop", {"campaign_id": "16064"})).json()
    assert stopped == {"result": 1000, "status": 0}
    task = (await call(http, sim, "task", {"task_id": "2489649"})).json()
    assert (task["Result"], task["task"]["campaign_id"]) == (1000, 16064)
    missing = (await call(http, sim, "campaign", {"campaign_id": "1"})).json()
    assert missing["result"] == 3300


async def test_fail_next_variants(sim: MangoSimulator, http: httpx.AsyncClient) -> None:
    sim.fail_next("commands/callback", code=2240)
    sim.fail_next("/vpbx/commands/callback/", code=3100, http_status=420)
    sim.fail_next("commands/callback", http_status=503)
    payload = {"command_id": "x", "from": {"extension": "101"}, "to_number": CLIENT}
    answers = [await call(http, sim, "commands/callback", payload) for _ in range(4)]
    assert [(a.status_code, a.json()) for a in answers[:3]] == [
        (200, {"result": 2240}),
        (420, {"code": 3100}),
        (
            503,
            {
                "name": "Service Unavailable",
                "message": "Rate limit exceeded.",
                "code": 0,
                "status": 503,
            },
        ),
    ]
    assert answers[3].json() == {"result": 1000}
    assert len(sim.commands("commands/callback")) == 3
    await sim.wait_idle()


async def test_bot_down_is_recorded_as_status_0() -> None:
    async with MangoSimulator(KEY, SALT, webhook_url="http://127.0.0.1:9/x", step_delay=0) as sim:
        populate(sim)
        record = await sim.play_callback("101", CLIENT, record=False)
    assert {status for _, _, status in sim.posted} == {0}
    assert len(sim.posted) == len(record.posted)
