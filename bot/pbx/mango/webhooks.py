"""MANGO webhooks: verify the signed form, then turn the JSON into normalised events.

``verify`` checks ``vpbx_api_key`` and ``sign`` over the raw ``json`` field exactly as it
arrived (never re-serialised: senders differ in how they escape Cyrillic). ``parse``
accepts numbers as strings or integers and ignores unknown fields.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.events import (
    CallLegEvent,
    CallSummaryEvent,
    CommandResultEvent,
    Direction,
    DtmfEvent,
    LegState,
    Party,
    PbxEvent,
    RecordingEvent,
    RecordingState,
    SmsStatusEvent,
)
from bot.pbx.base import Inbound, WebhookForbidden, WebhookMalformed
from bot.pbx.mango.codes import message_key
from bot.pbx.mango.signing import sign, signature_matches
from bot.pbx.wire import form_fields

RECORDING_OK = 1000  # completion_code of a recording that completed ("Действие успешно выполнено")
# recipient of a completed recording (3.1.3): only "Mail" leaves nothing in the cloud to fetch.
RECIPIENT_MAIL_ONLY = "mail"

EVENT_ROUTES = ("call", "summary", "recording", "sms", "dtmf")
RESULT_ROUTES = (
    "callback",
    "callback_group",
    "call/hangup",
    "sms",
    "recording/start",
    "route",
    "transfer",
    "stats",
)
LEG_STATES = {
    "appeared": LegState.RINGING,
    "connected": LegState.CONNECTED,
    "onhold": LegState.ON_HOLD,
    "disconnected": LegState.DISCONNECTED,
}
DIRECTIONS = {0: Direction.INTERNAL, 1: Direction.INBOUND, 2: Direction.OUTBOUND}
RECORDING_STATES = {state.value: state for state in RecordingState}
SUCCESS = 1000


def signed_json(inbound: Inbound, api_key: str, api_salt: str) -> str:
    """The verified raw ``json`` field; WebhookMalformed (400) or WebhookForbidden (403).

    ``parse`` runs right after ``verify`` on the same request: the result is kept with the
    request, since decoding the form and hashing it again is a measurable share of ingest.
    """
    secrets = (api_key, api_salt)
    known = inbound.state.get("mango.signed_json")
    if known is not None and known[0] == secrets:
        return str(known[1])
    text = _verified_json(inbound, api_key, api_salt)
    inbound.state["mango.signed_json"] = (secrets, text)
    return text


def _verified_json(inbound: Inbound, api_key: str, api_salt: str) -> str:
    content_type = inbound.header("Content-Type")
    if "application/x-www-form-urlencoded" not in content_type.lower():
        raise WebhookMalformed("expected a form (application/x-www-form-urlencoded)")
    try:
        form = form_fields(inbound.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookMalformed("body is not form data") from None
    key, signature, text = (form.get(name, [None])[0] for name in ("vpbx_api_key", "sign", "json"))
    if key is None or signature is None:
        raise WebhookForbidden("missing vpbx_api_key or sign")
    if text is None:
        raise WebhookMalformed("missing json field")
    key_ok = signature_matches(api_key, key)
    sign_ok = signature_matches(sign(api_key, text, api_salt), signature)
    if not (key_ok and sign_ok):
        raise WebhookForbidden("signature mismatch")
    return text


def parse_payload(route: str, text: str, account: str) -> PbxEvent:
    """The event for a verified ``json`` field posted to ``route`` (e.g. ``events/call``)."""
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
        raise WebhookMalformed("json field is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookMalformed("json field is not an object")
    kind, _, name = route.partition("/")
    parser = _EVENT_PARSERS.get(name) if kind == "events" else None
    try:
        if parser is not None:
            return parser(payload, account)
        if kind == "result" and name in RESULT_ROUTES:
            return _result(name, payload, account)
    # OverflowError, OSError: a number or a timestamp beyond int() or datetime.fromtimestamp()
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise WebhookMalformed(f"{route}: missing or invalid field {exc}") from None
    raise WebhookMalformed(f"unknown route {route}")


def _common(payload: dict[str, Any], account: str) -> dict[str, Any]:
    return {"account": account, "provider": "mango", "raw": payload}


def _int(value: Any) -> int:
    if isinstance(value, bool) or value is None or value == "":
        raise ValueError(repr(value))
    return int(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None or value == "" else _int(value)


def _time(value: Any) -> datetime:
    return datetime.fromtimestamp(_int(value), UTC)


def _opt_time(value: Any) -> datetime | None:
    number = _opt_int(value)
    return None if not number else datetime.fromtimestamp(number, UTC)


def _str(value: Any) -> str:
    if value is None or value == "":
        raise ValueError("empty")
    return str(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _party(data: Any) -> Party:
    if not isinstance(data, dict):
        return Party()
    return Party(
        extension=_opt_str(data.get("extension")),
        number=_opt_str(data.get("number")),
        line_number=_opt_str(data.get("line_number")),
        group=_opt_str(data.get("acd_group")),
    )


def _call(payload: dict[str, Any], account: str) -> CallLegEvent:
    state = LEG_STATES.get(str(payload["call_state"]).lower())
    if state is None:
        raise ValueError(f"call_state {payload['call_state']!r}")
    sender = payload.get("from") or {}
    return CallLegEvent(
        **_common(payload, account),
        call_id=_str(payload["entry_id"]),
        leg_id=_str(payload["call_id"]),
        seq=_int(payload["seq"]),
        state=state,
        at=_time(payload["timestamp"]),
        location=_opt_str(payload.get("location")),
        caller=_party(sender),
        callee=_party(payload.get("to")),
        disconnect_reason=_opt_int(payload.get("disconnect_reason")),
        command_id=_opt_str(payload.get("command_id")),
        task_id=_opt_str(payload.get("task_id")),
        callback_initiator=_opt_str(payload.get("callback_initiator")),
        transferred_from=_opt_str(sender.get("taken_from_call_id"))
        if isinstance(sender, dict)
        else None,
    )


def _summary(payload: dict[str, Any], account: str) -> CallSummaryEvent:
    direction = DIRECTIONS.get(_int(payload["call_direction"]), Direction.UNKNOWN)
    created = _time(payload["create_time"])
    return CallSummaryEvent(
        **_common(payload, account),
        call_id=_str(payload["entry_id"]),
        direction=direction,
        caller=_party(payload.get("from")),
        callee=_party(payload.get("to")),
        line_number=_opt_str(payload.get("line_number")),
        created_at=created,
        forwarded_at=_opt_time(payload.get("forward_time")),
        answered_at=_opt_time(payload.get("talk_time")),
        ended_at=_time(payload.get("end_time") or payload["create_time"]),
        answered=_answered(payload),
        disconnect_reason=_opt_int(payload.get("disconnect_reason")),
    )


def _answered(payload: dict[str, Any]) -> bool:
    """Whether anyone talked: ``talk_time`` (zero when no conversation took place) decides;
    ``entry_result`` only when it is missing. The spec's summary example 2 (a call ended
    in the voice menu) carries ``entry_result`` 1 with ``talk_time`` 0."""
    talk_time = _opt_int(payload.get("talk_time"))
    entry_result = _int(payload["entry_result"])
    if talk_time is None:
        return entry_result == 1
    return talk_time > 0


def _recording(payload: dict[str, Any], account: str) -> RecordingEvent:
    state = RECORDING_STATES.get(str(payload["recording_state"]).lower())
    if state is None:
        raise ValueError(f"recording_state {payload['recording_state']!r}")
    completion = _opt_int(payload.get("completion_code"))
    return RecordingEvent(
        **_common(payload, account),
        recording_id=_str(payload["recording_id"]),
        state=state,
        seq=_int(payload.get("seq", 0)),
        call_id=_opt_str(payload.get("entry_id")),
        leg_id=_opt_str(payload.get("call_id")),
        extension=_opt_str(payload.get("extension")),
        at=_time(payload["timestamp"]),
        completion_code=completion,
        succeeded=completion in (None, RECORDING_OK),
        command_id=_opt_str(payload.get("command_id")),
        emailed_only=str(payload.get("recipient") or "").lower() == RECIPIENT_MAIL_ONLY,
    )


def _sms(payload: dict[str, Any], account: str) -> SmsStatusEvent:
    code = _int(payload["reason"])
    return SmsStatusEvent(
        **_common(payload, account),
        command_id=_str(payload["command_id"]),
        code=code,
        delivered=code == SUCCESS,
        at=_time(payload["timestamp"]),
        message_key=message_key(code),
    )


def _dtmf(payload: dict[str, Any], account: str) -> DtmfEvent:
    return DtmfEvent(
        **_common(payload, account),
        call_id=_str(payload["entry_id"]),
        leg_id=_str(payload["call_id"]),
        seq=_int(payload["seq"]),
        digits=str(payload["dtmf"]),
        location=_opt_str(payload.get("location")),
        at=_time(payload["timestamp"]),
        initiator=_opt_str(payload.get("initiator")),
        from_number=_opt_str(payload.get("from_number")),
        to_number=_opt_str(payload.get("to_number")),
        line_number=_opt_str(payload.get("line_number")),
    )


def _result(command: str, payload: dict[str, Any], account: str) -> CommandResultEvent:
    if command == "stats":
        return CommandResultEvent(
            **_common(payload, account),
            command="stats",
            command_id=_str(payload.get("request_id") or payload["key"]),
            code=SUCCESS,
            success=True,
            message_key=message_key(SUCCESS),
            data={"key": _str(payload["key"])},
        )
    code = _int(payload["result"])
    return CommandResultEvent(
        **_common(payload, account),
        command=command,
        command_id=_str(payload["command_id"]),
        code=code,
        success=code == SUCCESS,
        message_key=message_key(code),
    )


_EVENT_PARSERS: dict[str, Callable[[dict[str, Any], str], PbxEvent]] = {
    "call": _call,
    "summary": _summary,
    "recording": _recording,
    "sms": _sms,
    "dtmf": _dtmf,
}
