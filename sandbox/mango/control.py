"""A thin HTTP control side under ``/_simulator/`` to play calls from outside Python
(``curl`` against a running ``pbxgram demo --keep-running``).

``POST /_simulator/calls/inbound`` with a JSON object: ``from`` (the caller's digits,
required), ``line`` (a PBX number; the first line by default), ``group`` (a ring-group id),
``ring`` (extensions to ring), ``answered_by`` (an extension; none: the call is missed),
``record`` (default true). Answers 202 at once; the call plays in the background.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.mango.simulator import MangoSimulator


class _Refused(Exception):
    pass


def _inbound_call(sim: MangoSimulator, body: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``play_inbound`` for ``body``; _Refused when it is wrong."""
    directory = sim.directory
    caller = str(body.get("from", "")).lstrip("+")
    if not caller.isdigit():
        raise _Refused("from: the caller's number in digits is required")
    line = str(body.get("line") or (directory.lines[0].number if directory.lines else ""))
    if not line:
        raise _Refused("line: the simulator has no lines; give one")
    group = body.get("group")
    if group is not None and (not isinstance(group, int) or group not in directory.groups):
        raise _Refused(f"group: no ring group {group!r} (known: {sorted(directory.groups)})")
    ring = body.get("ring")
    if ring is not None and (
        not isinstance(ring, list) or not all(str(e) in directory.employees for e in ring)
    ):
        raise _Refused(f"ring: extensions expected (known: {sorted(directory.employees)})")
    answered_by = body.get("answered_by")
    if answered_by is not None and str(answered_by) not in directory.employees:
        raise _Refused(f"answered_by: no extension {answered_by!r}")
    if group is None and ring is None and answered_by is None:
        raise _Refused("give a group, extensions to ring, or the extension that answers")
    if ring is not None:
        ringing = [str(e) for e in ring]
    elif group is not None:
        ringing = directory.members(directory.groups[group])
    else:
        ringing = [str(answered_by)]
    if answered_by is not None and str(answered_by) not in ringing:
        raise _Refused(f"answered_by: {answered_by} does not ring on this call ({ringing})")
    return {
        "line_number": line,
        "from_number": caller,
        "group_id": group,
        "ring": ringing if ring is not None else None,
        "answered_by": str(answered_by) if answered_by is not None else None,
        "record": bool(body.get("record", True)),
    }


def control_routes(sim: MangoSimulator) -> list[web.RouteDef]:
    """Routes that make the simulator play scenarios on request."""

    async def inbound(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise _Refused("a JSON object expected")
            call = _inbound_call(sim, body)
        except (ValueError, _Refused) as exc:
            return web.json_response({"error": str(exc) or "a JSON object expected"}, status=400)
        sim.spawn(sim.play_inbound(**call))
        return web.json_response({"ok": True}, status=202)

    return [web.post("/_simulator/calls/inbound", inbound)]
