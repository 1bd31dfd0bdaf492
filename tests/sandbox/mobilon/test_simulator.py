"""The Mobilon simulator speaks the doc: CallToSubscriber and its codes, the URL webhook
with ``{NUMBER}``/``{KEY}`` substituted, call info and the journal as calls progress, in
the doc's own XML, and ``record_url`` serving audio (after some "not found" answers when
asked)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest_asyncio
from aiohttp import web

from bot.pbx.mobilon import safe_xml
from sandbox.mobilon import LINE, MobilonSimulator, SimCall, Subscriber
from sandbox.mobilon.calls import MSK
from tests.helpers import serving
from tests.pbx.mobilon.doc_examples import INFO, JOURNAL

TOKEN = "account-token-1234"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[MobilonSimulator]:
    async with MobilonSimulator(TOKEN, step_delay=0) as simulator:
        simulator.add_subscriber(Subscriber(extension="101", key="anna key/1"))
        simulator.add_subscriber(Subscriber(extension="102", key="offline", registered=False))
        simulator.add_subscriber(Subscriber(extension="103", key="portal", has_subscriber=False))
        yield simulator


@pytest_asyncio.fixture
async def api(sim: MobilonSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        yield client


async def test_call_to_subscriber_answers_as_the_doc_shows(
    sim: MobilonSimulator, api: httpx.AsyncClient
) -> None:
    sim.outbound_ends = False
    path = "/api/call/CallToSubscriber"
    ok = (await api.get(path, params={"key": "anna key/1", "outboundNumber": "79001234567"})).json()
    assert ok["result"] == "SUCCESS" and ok["code"] == 0
    assert ok["description"] == "Call had been initialised"
    assert ok["callid"] in sim.calls

    answers = []
    for key, number in (
        ("offline", "79001234567"),
        ("nobody", "79001234567"),
        ("anna key/1", "+7 900"),
        ("portal", "79001234567"),
    ):
        data = (await api.get(path + "/", params={"key": key, "outboundNumber": number})).json()
        answers.append((data["result"], data["code"], data["description"]))
    sim.fail_next(path, code=4)
    data = (await api.get(path, params={"key": "anna key/1", "outboundNumber": "1"})).json()
    answers.append((data["result"], data["code"], data["description"]))

    assert answers == [
        ("FAIL", "1", "Operator is not registered"),
        ("FAIL", "2", "Invalid API key"),
        ("FAIL", "3", "The number can only consist of numbers and Latin characters"),
        ("FAIL", "5", "User doesn't have subscriber or operator"),
        ("FAIL", "4", "Internal error"),
    ]
    assert [q["key"] for q in sim.calls_to_subscriber()][:2] == ["anna key/1", "offline"]


async def test_webhook_substitutes_number_and_key(sim: MobilonSimulator) -> None:
    seen: list[dict[str, str]] = []

    async def incoming(request: web.Request) -> web.Response:
        seen.append({"method": request.method, **request.query})
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/pbx/mob/incoming", incoming)
    async with serving(app) as url:
        sim.webhook_url = f"{url}/pbx/mob/incoming?number={{NUMBER}}&key={{KEY}}"
        call = await sim.ring("+79001234567", ["101", "102"])

    assert seen == [
        {"method": "GET", "number": "+79001234567", "key": "anna key/1"},
        {"method": "GET", "number": "+79001234567", "key": "offline"},
    ]
    assert sim.webhooks == [("+79001234567", "101", 200), ("+79001234567", "102", 200)]
    assert call.rang == ["101", "102"]


def fields(body: str) -> dict[str, str]:
    """The children of an info answer's ``<call>``."""
    root = safe_xml.parse(body.encode())
    assert root.tag == "call"
    return {child.tag: child.text or "" for child in root}


def doc_call(callid: str, to: str, time: str, duration: int, *, recorded: bool) -> SimCall:
    """A finished call as one of the doc's examples shows it."""
    return SimCall(
        callid=callid,
        direction="inbound",
        caller="81234567890",
        callee=to,
        started=datetime.fromisoformat(time).replace(tzinfo=MSK),
        status="ANSWERED",
        duration=duration,
        recorded=recorded,
    )


async def test_info_answers_the_docs_example(sim: MobilonSimulator, api: httpx.AsyncClient) -> None:
    """mobilon-api.md lines 118-127, with ``{token}`` and ``{callid}`` filled in."""
    call = doc_call("1324324.8997834", "123123", "2015-04-28 12:00:00", 203, recorded=True)
    sim.calls[call.callid] = call

    answer = await api.get(
        "/api/call/info", params={"token": TOKEN, "callid": call.callid, "format": "xml"}
    )

    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/xml")
    assert answer.text == INFO.replace("{token}", TOKEN).replace("{callid}", call.callid)


async def test_journal_answers_the_docs_example(
    sim: MobilonSimulator, api: httpx.AsyncClient
) -> None:
    """mobilon-api.md lines 151-170, with ``{token}`` and ``{callid}`` filled in: the later
    call first, ``record_url`` only for the recorded one."""
    earlier = doc_call("32423423.323242", "123123", "2015-04-28 12:00:00", 203, recorded=True)
    later = doc_call("32423423.324324", "987315", "2015-04-28 13:12:00", 113, recorded=False)
    sim.calls.update({earlier.callid: earlier, later.callid: later})
    params = {"token": TOKEN, "date": "2015-04-28", "format": "xml"}

    answer = await api.get("/api/call/journal", params=params)

    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/xml")
    assert answer.text == JOURNAL.replace("{token}", TOKEN).replace("{callid}", earlier.callid)


async def test_an_empty_journal_is_calls_without_a_call(
    sim: MobilonSimulator, api: httpx.AsyncClient
) -> None:
    """The doc (lines 151-170) shows no empty day; the simulator keeps its ``<calls>``."""
    params = {"token": TOKEN, "date": "2015-04-27", "format": "xml"}

    answer = await api.get("/api/call/journal", params=params)

    assert answer.text == '<?xml version="1.0" encoding="UTF-8"?>\n<calls>\n</calls>\n'


async def test_info_and_journal_show_a_call_once_it_is_over(
    sim: MobilonSimulator, api: httpx.AsyncClient
) -> None:
    sim.webhook_url = "http://127.0.0.1:9/unused?number={NUMBER}&key={KEY}"
    call = await sim.ring("79001234567", ["101"])
    info = {"token": TOKEN, "callid": call.callid, "format": "xml"}
    journal = {"token": TOKEN, "date": sim.day_of(call), "format": "xml"}

    assert (await api.get("/api/call/info", params=info)).json()["result"] == "FAIL"
    assert "<call>" not in (await api.get("/api/call/journal", params=journal)).text
    sim.finish(call, answered_by="101", talk=30)

    body = (await api.get("/api/call/info", params=info)).text
    record = fields(body)
    assert record["status"] == "ANSWERED" and record["to"] == "101"
    assert record["from"] == "79001234567" and int(record["duration"]) >= 30
    assert record["record_url"] == f"/api/call/record?token={TOKEN}&callid={call.callid}"
    assert record["time"] == call.started.astimezone(MSK).strftime("%Y-%m-%d %H:%M:%S")
    day = (await api.get("/api/call/journal", params=journal)).text
    same_call = body.split("\n", 1)[1].rstrip("\n").replace("\n", "\n  ")
    assert f"<calls>\n  {same_call}\n</calls>" in day  # the same <call>, indented
    other_day = {**journal, "date": "2015-04-28"}
    assert "<call>" not in (await api.get("/api/call/journal", params=other_day)).text
    bad = await api.get("/api/call/journal", params={**journal, "token": "wrong"})
    assert bad.status_code == 403

    missed = await sim.ring("79005550000", ["101"])
    sim.finish(missed, answered_by=None)
    info["callid"] = missed.callid
    record = fields((await api.get("/api/call/info", params=info)).text)
    assert (record["status"], record["to"]) == ("NO ANSWER", LINE)
    assert "record_url" not in record


async def test_time_and_days_follow_the_simulators_zone() -> None:
    async with MobilonSimulator(TOKEN, step_delay=0, zone="Asia/Vladivostok") as sim:
        call = doc_call("1.1", "101", "2015-04-28 20:00:00", 10, recorded=False)  # Moscow
        sim.calls[call.callid] = call
        async with httpx.AsyncClient(base_url=sim.base_url) as api:
            params = {"token": TOKEN, "callid": call.callid, "format": "xml"}
            record = fields((await api.get("/api/call/info", params=params)).text)
            journal = {"token": TOKEN, "date": "2015-04-29", "format": "xml"}
            day = (await api.get("/api/call/journal", params=journal)).text

    assert record["time"] == "2015-04-29 03:00:00"  # UTC+10
    assert sim.day_of(call) == "2015-04-29" and "<callid>1.1</callid>" in day


async def test_record_url_serves_audio_after_not_ready_answers(
    sim: MobilonSimulator, api: httpx.AsyncClient
) -> None:
    sim.webhook_url = "http://127.0.0.1:9/unused?number={NUMBER}&key={KEY}"
    sim.recording_ready_after = 2
    call = await sim.play_inbound("79001234567", ["101"], answered_by="101")
    url = f"/api/call/record?token={TOKEN}&callid={call.callid}"

    statuses = [(await api.get(url)).status_code for _ in range(2)]
    audio = await api.get(url)

    assert statuses == [404, 404]
    assert audio.status_code == 200 and audio.headers["Content-Type"] == "audio/mpeg"
    assert audio.content.startswith(b"ID3")
    assert [r.status for r in sim.requests if r.path == "/api/call/record"] == [404, 404, 200]
