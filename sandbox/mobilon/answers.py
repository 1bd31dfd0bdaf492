"""``/api/call/info`` and ``/api/call/journal`` answers written as the doc's examples.

The doc (mobilon-api.md, "получение информации о звонке по callid" and "о звонках за
период") shows an XML declaration, then ``<call>`` (info) or ``<calls>`` with a ``<call>``
per call (journal, the latest call first), two-space indents, the fields in the order
``callid``, ``status``, ``record_url`` (only for a recorded call), ``duration``, ``from``,
``to``, ``time`` (``ГГГГ-ММ-ДД ЧЧ:ММ:СС``), and the ``&`` of ``record_url`` written bare.
Use :func:`info_xml` and :func:`journal_xml` for every such answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

from sandbox.mobilon.calls import SimCall

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CONTENT_TYPE = "text/xml"
# The doc shows no answer for a call it has no record of; the simulator gives the doc's
# failure shape (its CallToSubscriber answer), as JSON.
NOT_FOUND = {"result": "FAIL", "description": "Call not found"}


def record_url(token: str, callid: str) -> str:
    """Where the recording of ``callid`` is, as the doc writes it."""
    return f"/api/call/record?token={token}&callid={callid}"


def _text(value: str) -> str:
    # ``&`` stays bare, as in the doc; ``<`` and ``>`` would end the element.
    return value.replace("<", "&lt;").replace(">", "&gt;")


def _call(call: SimCall, token: str, zone: tzinfo, indent: str) -> list[str]:
    fields = [("callid", call.callid), ("status", call.status or "")]
    if call.recorded:
        fields.append(("record_url", record_url(token, call.callid)))
    fields += [
        ("duration", str(call.duration)),
        ("from", call.caller),
        ("to", call.callee),
        ("time", call.started.astimezone(zone).strftime(TIME_FORMAT)),
    ]
    inner = [f"{indent}  <{name}>{_text(value)}</{name}>" for name, value in fields]
    return [f"{indent}<call>", *inner, f"{indent}</call>"]


def info_xml(call: SimCall, token: str, zone: tzinfo) -> str:
    """The info answer for a finished call."""
    return "\n".join([DECLARATION, *_call(call, token, zone, "")]) + "\n"


def journal_xml(calls: Iterable[SimCall], token: str, zone: tzinfo) -> str:
    """The journal answer for a day's finished calls (none: an empty ``<calls>``)."""
    latest_first = sorted(calls, key=lambda c: (c.started, c.callid), reverse=True)
    lines = [DECLARATION, "<calls>"]
    for call in latest_first:
        lines += _call(call, token, zone, "  ")
    return "\n".join([*lines, "</calls>"]) + "\n"
