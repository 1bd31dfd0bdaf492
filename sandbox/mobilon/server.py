"""The simulator's HTTP side: ``/api/call/CallToSubscriber`` (JSON), ``/api/call/info`` and
``/api/call/journal`` (the doc's XML, :mod:`.answers`, whatever ``format`` asks: the doc
shows no other) and ``/api/call/record``, every request logged."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.mobilon.answers import CONTENT_TYPE, NOT_FOUND, info_xml, journal_xml

if TYPE_CHECKING:
    from sandbox.mobilon.simulator import MobilonSimulator

NUMBER = re.compile(r"^[0-9A-Za-z]+$")
ERRORS = {
    1: "Operator is not registered",
    2: "Invalid API key",
    3: "The number can only consist of numbers and Latin characters",
    4: "Internal error",
    5: "User doesn't have subscriber or operator",
}
AUDIO = b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 64  # an MP3-looking file


@dataclass
class ReceivedRequest:
    """One request the simulator received and the HTTP status it answered."""

    method: str
    path: str
    query: dict[str, str]
    status: int = 0


def fail(code: int) -> dict[str, Any]:
    """The doc's failure answer for ``code``."""
    return {"result": "FAIL", "description": ERRORS[code], "code": str(code)}


def build_app(sim: MobilonSimulator) -> web.Application:
    async def logged(request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/")
        entry = ReceivedRequest(request.method, path, dict(request.query))
        sim.requests.append(entry)
        response = await _answer(sim, path, request)
        entry.status = response.status
        return response

    app = web.Application()
    app.router.add_route("GET", "/api/call/{name}", logged)
    app.router.add_route("GET", "/api/call/{name}/", logged)
    return app


async def _answer(sim: MobilonSimulator, path: str, request: web.Request) -> web.StreamResponse:
    query = request.query
    injected = sim.failures.pop(path, None)
    if injected is not None:
        status, body = injected
        if isinstance(body, str):
            return _xml(body, status)
        return web.json_response(body, status=status)
    if path == "/api/call/CallToSubscriber":
        return web.json_response(sim.call_to_subscriber(query.get("key", ""), query))
    if query.get("token") != sim.token:
        return web.json_response({"result": "FAIL", "description": "Invalid token"}, status=403)
    if path == "/api/call/info":
        call = sim.calls.get(query.get("callid", ""))
        if call is None or not call.finished:
            return web.json_response(NOT_FOUND)
        return _xml(info_xml(call, sim.token, sim.zone))
    if path == "/api/call/journal":
        day = query.get("date", "")
        found = [c for c in sim.calls.values() if c.finished and c.day_in(sim.zone) == day]
        return _xml(journal_xml(found, sim.token, sim.zone))
    if path == "/api/call/record":
        return await _record(sim, request)
    return web.json_response({"result": "FAIL", "description": "Not found"}, status=404)


def _xml(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type=CONTENT_TYPE, charset="utf-8")


async def _record(sim: MobilonSimulator, request: web.Request) -> web.StreamResponse:
    call = sim.calls.get(request.query.get("callid", ""))
    if call is None or not call.recorded:
        return web.json_response({"result": "FAIL", "description": "Record not found"}, status=404)
    call.record_requests += 1
    if call.record_requests <= sim.recording_ready_after:
        return web.json_response({"result": "FAIL", "description": "Record not found"}, status=404)
    response = web.StreamResponse(
        headers={"Content-Type": "audio/mpeg", "Content-Length": str(len(AUDIO))}
    )
    await response.prepare(request)
    for start in range(0, len(AUDIO), 4096):
        await response.write(AUDIO[start : start + 4096])
    await response.write_eof()
    return response
