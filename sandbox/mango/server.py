"""The HTTP side: every request under ``/vpbx/`` is recorded, rate limited, verified
(``vpbx_api_key``, ``sign``, ``json``) and answered; ``/files/<token>`` serves recordings.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.mango import codes
from sandbox.mango.control import control_routes
from sandbox.mango.handlers import HANDLERS, Invalid, Reply, failure
from sandbox.mango.signing import recording_link_sign, same_sign, sign

if TYPE_CHECKING:
    from sandbox.mango.simulator import MangoSimulator

LINK_PREFIX = "queries/recording/link/"
CHUNK = 16 * 1024


@dataclass
class ReceivedRequest:
    """One request the simulator received and how it answered."""

    path: str
    form: dict[str, str]
    payload: dict[str, Any] | None
    verified: bool
    status: int = 0
    result_code: int | None = None
    at: float = field(default_factory=time.monotonic)  # when it arrived


def _parse(text: str | None) -> Any:
    if text is None:
        return None
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return None


def check_form(sim: MangoSimulator, form: dict[str, str]) -> int | None:
    """The spec's code for a badly authenticated request, or None when it is fine.

    3103 a field is missing, 3105 unknown ``vpbx_api_key``, 3102 ``sign`` does not match
    the one computed over ``json`` exactly as received.
    """
    key, signature, text = (form.get(name) for name in ("vpbx_api_key", "sign", "json"))
    if key is None or signature is None or text is None:
        return codes.MISSING_PARAMETER
    if not same_sign(sim.api_key, key):
        return codes.BAD_API_KEY
    if not same_sign(sign(sim.api_key, text, sim.api_salt), signature):
        return codes.BAD_SIGN
    return None


def to_response(sim: MangoSimulator, reply: Reply) -> web.Response:
    if reply.data is not None:
        return web.Response(
            status=reply.status,
            text=sim.encode(reply.data),
            content_type="application/json",
            headers=reply.headers,
        )
    return web.Response(
        status=reply.status,
        body=reply.body,
        content_type=reply.content_type,
        headers=reply.headers,
    )


def build_app(sim: MangoSimulator) -> web.Application:
    """The aiohttp application of one simulator."""

    async def api(request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"].strip("/")
        if request.method == "GET" and path.startswith(LINK_PREFIX):
            return await link(request, path)
        form: dict[str, str] = {}
        if request.method == "POST":
            posted = await request.post()
            form = {k: v for k, v in posted.items() if isinstance(v, str)}
        parsed = _parse(form.get("json"))
        payload = parsed if isinstance(parsed, dict) else None
        received = ReceivedRequest(path, form, payload, verified=False)
        sim.requests.append(received)
        reply = await answer(request, path, form, parsed, received)
        received.status, received.result_code = reply.status, reply.result_code
        return to_response(sim, reply)

    async def answer(
        request: web.Request,
        path: str,
        form: dict[str, str],
        parsed: Any,
        received: ReceivedRequest,
    ) -> Reply:
        method = request.method
        handler = HANDLERS.get(path)
        if handler is None:
            return Reply(404)
        received.verified = method == "POST" and check_form(sim, form) is None
        if method != "POST":
            return failure(codes.NOT_POST)
        if not sim.limiter.allow(path):
            return Reply(503, dict(codes.RATE_LIMIT_BODY))
        problem = check_form(sim, form)
        if problem is not None:
            return failure(problem)
        if not isinstance(parsed, dict):
            return failure(codes.BAD_FORMAT)
        stall, carry_out = sim.take_stall(path)
        if stall:
            await asyncio.sleep(stall)
            gone = request.transport is None or request.transport.is_closing()
            if gone and not carry_out:
                return Reply(504)  # the caller gave up: the request is not carried out
        injected = sim.take_failure(path)
        if injected is not None:
            return injected
        try:
            return await handler(sim, parsed)
        except Invalid as exc:
            return failure(exc.code)

    async def link(request: web.Request, path: str) -> web.StreamResponse:
        received = ReceivedRequest(path, {}, None, verified=False)
        sim.requests.append(received)
        reply = link_reply(path[len(LINK_PREFIX) :], received)
        received.status, received.result_code = reply.status, reply.result_code
        return to_response(sim, reply)

    def link_reply(rest: str, received: ReceivedRequest) -> Reply:
        parts = rest.rsplit("/", 4)
        if len(parts) != 5:
            return Reply(404)
        recording_id, action, key, timestamp, signature = parts
        if not sim.limiter.allow(LINK_PREFIX + rest):
            return Reply(503, dict(codes.RATE_LIMIT_BODY))
        if not same_sign(sim.api_key, key):
            return failure(codes.BAD_API_KEY)
        expected = recording_link_sign(sim.api_key, timestamp, recording_id, sim.api_salt)
        if not same_sign(expected, signature):
            return failure(codes.BAD_SIGN)
        received.verified = True
        if action not in ("download", "play") or not timestamp.isdigit():
            return failure(codes.BAD_FORMAT)
        if int(timestamp) < time.time():
            return failure(codes.BAD_PARAMETERS)
        injected = sim.take_failure(LINK_PREFIX.rstrip("/"))
        if injected is not None:
            return injected
        return sim.recording_redirect(recording_id, action)

    async def files(request: web.Request) -> web.StreamResponse:
        found = sim.recordings.redeem(request.match_info["token"])
        if found is None:
            return web.Response(status=404)
        file_link, data = found
        response = web.StreamResponse(status=200)
        response.content_type = "audio/mpeg"
        if file_link.action == "download":
            name = file_link.recording_id.replace("/", "_").replace("=", "")
            response.headers["Content-Disposition"] = f'attachment; filename="{name}.mp3"'
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(data), CHUNK):
            await response.write(data[start : start + CHUNK])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/files/{token}", files)
    app.add_routes(control_routes(sim))
    app.router.add_route("*", "/vpbx/{path:.*}", api)
    return app
