"""The MTS VPBX REST API as the doc describes it (sections 4.1-4.11), over the simulator's
state. Every ``/api/`` request must carry the account's ``X-AUTH-TOKEN``, else 401.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.mts.models import ReceivedRequest, Subscription

if TYPE_CHECKING:
    from sandbox.mts.simulator import MtsSimulator

SIMULATOR: web.AppKey[MtsSimulator] = web.AppKey("simulator")
BODY: web.RequestKey[Any] = web.RequestKey("body", object)
RECORDING_ID = re.compile(r"\d+:\d+")


def build_app(sim: MtsSimulator) -> web.Application:
    app = web.Application(middlewares=[_logged])
    app[SIMULATOR] = sim
    r = app.router
    r.add_post("/api/service/{service}", _service)
    r.add_get("/api/abonents", _abonents)
    r.add_get("/api/groups", _groups)
    r.add_get("/api/v1/callHistory/{scope:enterprise}", _history)
    r.add_get("/api/v1/callHistory/{scope:user|group}/{id}", _history)
    r.add_route("*", "/api/subscription", _subscription)
    r.add_get("/api/user/{id}/calls", _active_calls)
    r.add_post("/api/user/{id}/calls", _dial)
    r.add_post("/api/user/{id}/calls/{what:CallReturn|LastNumberRedial}", _redial)
    r.add_get("/api/user/{id}/calls/{call}", _call_info)
    r.add_delete("/api/user/{id}/calls/{call}", _hangup)
    r.add_put("/api/user/{id}/calls/{call}/BlindTransfer", _blind)
    r.add_put("/api/user/{id}/calls/{call}/ConsultTransfer/{call2}", _consult)
    r.add_get("/api/callRecording/mp3/{track}", _recording)
    r.add_get("/api/callRecording/{track}", _recording)
    r.add_get("/api/findMe/{id}", _find_me)
    r.add_post("/api/findMe/{id}/{mode:parallel|sequential|redirect}", _find_me_add)
    r.add_put("/api/findMe/{id}/{mode:parallel|sequential|redirect}/{rule}", _find_me_update)
    r.add_delete("/api/findMe/{id}/{mode:parallel|sequential|redirect}/{rule}", _find_me_remove)
    return app


@web.middleware
async def _logged(request: web.Request, handler: Any) -> web.StreamResponse:
    sim = request.app[SIMULATOR]
    body: Any = None
    raw = await request.read()
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
    if request.headers.get("X-AUTH-TOKEN") != sim.api_token:
        response: web.StreamResponse = web.json_response({"error": "Unauthorized"}, status=401)
    elif (injected := sim.injected(request.method, request.path)) is not None:
        response = web.json_response({"error": "injected"}, status=injected)
    else:
        request[BODY] = body
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = web.json_response({"error": exc.reason}, status=exc.status)
    sim.requests.append(
        ReceivedRequest(request.method, request.path, dict(request.query), body, response.status)
    )
    return response


def _sim(request: web.Request) -> MtsSimulator:
    return request.app[SIMULATOR]


def _body(request: web.Request) -> dict[str, Any]:
    body = request.get(BODY)
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason="JSON body expected")
    return body


def _user(request: web.Request) -> int:
    sim = _sim(request)
    try:
        user_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPBadRequest(reason="bad id") from None
    if user_id not in sim.abonents:
        raise web.HTTPNotFound(reason="abonent not found")
    return user_id


async def _service(request: web.Request) -> web.Response:
    service = request.match_info["service"]
    body = _body(request)
    if service not in ("apicrm", "webhook") or not body.get("callbackUrl"):
        raise web.HTTPBadRequest(reason="callbackUrl is required")
    if service == "apicrm" and not body.get("clientApiKey"):
        raise web.HTTPBadRequest(reason="clientApiKey is required")
    _sim(request).services[service] = (str(body["callbackUrl"]), body.get("clientApiKey"))
    _sim(request).delivery_errors = 0
    return web.Response(status=200)


async def _abonents(request: web.Request) -> web.Response:
    phone = request.query.get("phoneNumber")
    extension = request.query.get("extension")
    return web.json_response(
        [
            a.as_api()
            for a in _sim(request).abonents.values()
            if (phone is None or a.phone_number == phone)
            and (extension is None or a.extension == extension)
        ]
    )


async def _groups(request: web.Request) -> web.Response:
    return web.json_response(_sim(request).groups)


async def _history(request: web.Request) -> web.Response:
    q = request.query
    try:
        page, size = int(q.get("page", "0")), int(q.get("size", "20"))
        date_from, date_to = int(q.get("dateFrom", "0")), int(q.get("dateTo", str(2**62)))
    except ValueError:
        raise web.HTTPBadRequest(reason="bad filter") from None
    rows = [
        row
        for row in _sim(request).history
        if date_from <= row["callTime"] <= date_to
        and all(row.get(name) == q[name] for name in ("direction", "status") if name in q)
    ]
    pages = (len(rows) + size - 1) // size if size > 0 else 0
    content = rows[page * size : (page + 1) * size]
    return web.json_response({"content": content, "totalElements": len(rows), "totalPages": pages})


async def _subscription(request: web.Request) -> web.Response:
    sim = _sim(request)
    body = _body(request)
    try:
        abonent_id = int(body["abonentId"])
    except (KeyError, TypeError, ValueError):
        raise web.HTTPBadRequest(reason="abonentId is required") from None
    if abonent_id not in sim.abonents:
        raise web.HTTPNotFound(reason="abonent not found")
    if request.method == "POST":
        sub = Subscription(abonent_id, uuid.uuid4().hex[:8], time.monotonic() + sim.lifetime)
        sim.subscriptions[sub.subscription_id] = sub
        return web.json_response(
            {"expires": sub.expires_in(), "subscriptionId": sub.subscription_id}
        )
    found = sim.subscriptions.get(str(body.get("subscriptionId")))
    if found is None or found.abonent_id != abonent_id:
        raise web.HTTPNotFound(reason="subscription not found")
    if request.method == "GET":
        return web.json_response(
            {"expires": found.expires_in(), "subscriptionId": found.subscription_id}
        )
    if request.method == "PUT":
        found.expires_at = time.monotonic() + sim.lifetime
        return web.json_response(
            {"expires": found.expires_in(), "subscriptionId": found.subscription_id}
        )
    if request.method == "DELETE":
        del sim.subscriptions[found.subscription_id]
        return web.Response(status=200)
    raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST", "PUT", "DELETE"])


async def _active_calls(request: web.Request) -> web.Response:
    user_id = _user(request)
    legs = _sim(request).live_legs(user_id)
    return web.json_response([{"callId": leg.call_id, "inConference": False} for leg in legs])


async def _dial(request: web.Request) -> web.Response:
    user_id = _user(request)
    address = request.query.get("address", "")
    number = address.removeprefix("tel:")
    if not address.startswith("tel:+") or not number[1:].isdigit():
        raise web.HTTPBadRequest(reason="address must be tel:+<country><number>")
    _sim(request).dialled(user_id, number)
    return web.Response(status=201)


async def _redial(request: web.Request) -> web.Response:
    user_id = _user(request)
    sim = _sim(request)
    what = request.match_info["what"]
    number = sim.last_dialled.get(user_id) if what == "LastNumberRedial" else None
    if what == "CallReturn":
        number = sim.last_caller.get(user_id)
    if number is None:
        raise web.HTTPNotFound(reason="no previous call")
    leg = sim.dialled(user_id, number)
    return web.json_response({"callId": leg.call_id, "inConference": False})


async def _call_info(request: web.Request) -> web.Response:
    leg = _sim(request).leg(_user(request), request.match_info["call"])
    body = leg.payload()
    body.pop("extTrackingId")
    return web.json_response(body)


async def _hangup(request: web.Request) -> web.Response:
    sim = _sim(request)
    sim.hang_up(sim.leg(_user(request), request.match_info["call"]))
    return web.Response(status=200)


async def _blind(request: web.Request) -> web.Response:
    sim = _sim(request)
    leg = sim.leg(_user(request), request.match_info["call"])
    address = request.query.get("address", "")
    long_form = len(address) == 11 and address.startswith("8")
    if not address.isdigit() or not (long_form or len(address) < 7):
        raise web.HTTPBadRequest(reason="address must be 8 and ten digits, or an extension")
    if leg.state not in ("Alerting", "Held", "Remote Held", "Active"):
        raise web.HTTPBadRequest(reason="call cannot be transferred now")
    sim.blind_transfer(leg, address)
    return web.Response(status=200)


async def _consult(request: web.Request) -> web.Response:
    sim = _sim(request)
    user_id = _user(request)
    first = sim.leg(user_id, request.match_info["call"])
    second = sim.leg(user_id, request.match_info["call2"])
    sim.consult_transfer(first, second)
    return web.Response(status=200)


async def _recording(request: web.Request) -> web.StreamResponse:
    """A conversation's file by its id in the documented form, ``11122233:1`` (section
    4.9, lines 935 and 958): digits, a colon, digits; 400 for anything else, such as a
    call half's ``…callhalf-3659097569:0``."""
    sim = _sim(request)
    track = request.match_info["track"]
    if RECORDING_ID.fullmatch(track) is None:
        raise web.HTTPBadRequest(reason="extTrackingId of the conversation expected")
    status = sim.recording_status(track)
    if status != 200:
        return web.json_response({"error": "recording not found"}, status=status)
    data = sim.recordings[track]
    return web.Response(body=data, content_type="audio/mpeg")


def _rule_id(request: web.Request) -> int:
    try:
        return int(request.match_info["rule"])
    except ValueError:
        raise web.HTTPNotFound(reason="rule not found") from None


async def _find_me(request: web.Request) -> web.Response:
    return web.json_response(_sim(request).find_me.of(_user(request)))


async def _find_me_add(request: web.Request) -> web.Response:
    book = _sim(request).find_me
    rule = book.add(_user(request), request.match_info["mode"], request.get(BODY))
    return web.json_response(rule)


async def _find_me_update(request: web.Request) -> web.Response:
    book = _sim(request).find_me
    user_id, mode = _user(request), request.match_info["mode"]
    return web.json_response(book.update(user_id, mode, _rule_id(request), request.get(BODY)))


async def _find_me_remove(request: web.Request) -> web.Response:
    user_id, mode = _user(request), request.match_info["mode"]
    _sim(request).find_me.remove(user_id, mode, _rule_id(request))
    return web.Response(status=200)
