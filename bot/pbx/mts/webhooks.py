"""MTS event notifications (section 4.7): checking the ``X-AUTH-TOKEN``, reading the JSON,
and turning call events into :class:`~bot.events.CallLegEvent` (and a
:class:`~bot.events.RecordingEvent` when an answered leg ends and the account records calls).

Each abonent's view of a call is one leg: ``leg_id`` is ``"{abonentId}:{callId}"`` (the
callId is the abonent's own, what hang-up and transfer take). Legs are grouped into calls by
``extTrackingId`` up to its ``callhalf-`` part: ``"20105616:1callhalf-3659100355:0"`` and
``"20105616:1callhalf-3659110915:0"`` are two halves of call ``"20105616:1"`` (section 4.5.1).

A notification whose ``eventType`` is none of the six section 4.7 lists (lines 695-704) is
read as :class:`Ignored`: the web tier answers 200, since failed deliveries count toward the
PBX switching notifications off (section 3, lines 68-70).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from bot.events import CallLegEvent, LegState, Party, PbxEvent, RecordingEvent, RecordingState
from bot.pbx.base import Inbound, WebhookForbidden, WebhookMalformed
from bot.pbx.mts.abonents import Abonents

TOKEN_HEADER = "x-auth-token"  # noqa: S105 - the header's name
PROVIDER_ID = "mts"
# seq = rank * SEQ_RANK + milliseconds: a later state always wins, and among connected /
# on-hold updates (which may alternate) the one received last.
SEQ_RANK = 10**13
RANKS = {LegState.RINGING: 1, LegState.CONNECTED: 2, LegState.ON_HOLD: 2, LegState.DISCONNECTED: 3}


class EventType(StrEnum):
    CHECK_ALIVE = "CHECK_ALIVE"
    CALL_ORIGINATED = "CALL_ORIGINATED"
    CALL_RECEIVED = "CALL_RECEIVED"
    CALL_ANSWERED = "CALL_ANSWERED"
    CALL_RELEASED = "CALL_RELEASED"
    SUBSCRIPTION_TERMINATION = "SUBSCRIPTION_TERMINATION"


EVENT_TYPES = frozenset(kind.value for kind in EventType)
CALL_EVENTS = {
    EventType.CALL_ORIGINATED,
    EventType.CALL_RECEIVED,
    EventType.CALL_ANSWERED,
    EventType.CALL_RELEASED,
}


class CallPayload(BaseModel):
    """The ``payload`` of a call event."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    call_id: str = Field(alias="callId", min_length=1)
    ext_tracking_id: str = Field("", alias="extTrackingId")
    state: str = ""
    remote_party_name: str | None = Field(None, alias="remotePartyName")
    # The sample spells it remotePartyAddress, the field list remotePartyAdress (4.7).
    remote_party_address: str | None = Field(
        None, validation_alias=AliasChoices("remotePartyAddress", "remotePartyAdress")
    )
    call_direction: str = Field("", alias="callDirection")
    start_time: int | None = Field(None, alias="startTime")
    answer_time: int | None = Field(None, alias="answerTime")
    end_time: int | None = Field(None, alias="endTime")


class Notification(BaseModel):
    """One POST from the PBX."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    event_type: EventType = Field(alias="eventType")
    abonent_id: int | None = Field(None, alias="abonentId")
    payload: CallPayload | None = None


@dataclass(frozen=True)
class Ignored:
    """A notification of a type section 4.7 does not list: answered 200 and dropped."""

    event_type: str


def verify_token(inbound: Inbound, callback_key: str) -> None:
    """WebhookForbidden unless the ``X-AUTH-TOKEN`` header is the account's callback key."""
    sent = inbound.header(TOKEN_HEADER)
    if not sent or not hmac.compare_digest(sent.encode(), callback_key.encode()):
        raise WebhookForbidden("X-AUTH-TOKEN does not match")


def read(inbound: Inbound) -> tuple[Notification | Ignored, dict[str, Any]]:
    """The notification (:class:`Ignored` for a type the doc does not list) and its raw
    JSON; WebhookMalformed when the body is not a notification at all."""
    try:
        raw = json.loads(inbound.body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookMalformed("body is not JSON") from None
    if not isinstance(raw, dict):
        raise WebhookMalformed("body is not a JSON object")
    event_type = raw.get("eventType")
    if not isinstance(event_type, str) or not event_type.strip():
        raise WebhookMalformed("not an MTS notification: no eventType")
    if event_type not in EVENT_TYPES:
        return Ignored(event_type), raw
    try:
        note = Notification.model_validate(raw)
    except ValidationError as exc:
        raise WebhookMalformed(f"not an MTS notification: {exc.errors()[0]['msg']}") from None
    if note.event_type in CALL_EVENTS and (note.payload is None or note.abonent_id is None):
        raise WebhookMalformed(f"{note.event_type.value} without abonentId or payload")
    if note.event_type is EventType.SUBSCRIPTION_TERMINATION and note.abonent_id is None:
        raise WebhookMalformed("SUBSCRIPTION_TERMINATION without abonentId")
    return note, raw


def call_id_of(ext_tracking_id: str) -> str:
    """The id shared by every half of one call."""
    return ext_tracking_id.split("callhalf-", 1)[0]


def to_events(
    note: Notification | Ignored,
    raw: dict[str, Any],
    account: str,
    abonents: Abonents,
    *,
    received_at: datetime,
    recordings: bool = False,
) -> list[PbxEvent]:
    """The domain events of a call notification (none for CHECK_ALIVE, terminations or
    ignored types).

    An answered leg that ends brings the recording of its conversation, named by the
    ``extTrackingId`` up to ``callhalf-``. Section 4.9 asks for "extTrackingId -
    идентификатор разговора" (lines 929, 952) and its example is ``11122233:1`` (lines 935,
    958): the form of the call history's plain ids (line 254), not a call half's
    (``…callhalf-3659097569:0``, line 393), whose tail is a callId's form. A plain id is
    kept as it is. Each abonent who talked gets it (``seq`` is the abonent id).
    """
    if isinstance(note, Ignored) or note.event_type not in CALL_EVENTS:
        return []
    payload = note.payload
    assert payload is not None and note.abonent_id is not None
    me = abonents.by_id.get(note.abonent_id)
    mine = Party(extension=me.extension or None) if me else Party()
    remote = _remote(payload.remote_party_address, abonents, payload.remote_party_name)
    direction = payload.call_direction.lower()
    caller, callee = (remote, mine) if direction == "terminator" else (mine, remote)
    state = _state(note.event_type, payload.state)
    at = _moment(payload, state) or received_at
    leg_id = f"{note.abonent_id}:{payload.call_id}"
    call_id = call_id_of(payload.ext_tracking_id) or leg_id
    rank = RANKS[state] * SEQ_RANK
    seq = rank + int(received_at.timestamp() * 1000) if rank == 2 * SEQ_RANK else rank
    events: list[PbxEvent] = [
        CallLegEvent(
            account=account,
            provider=PROVIDER_ID,
            raw=raw,
            received_at=received_at,
            call_id=call_id,
            leg_id=leg_id,
            seq=seq,
            state=state,
            at=at,
            caller=caller,
            callee=callee,
            callback_initiator=(mine.extension or str(note.abonent_id))
            if direction == "click-to-dial"
            else None,
        )
    ]
    answered = bool(payload.answer_time)
    if recordings and state is LegState.DISCONNECTED and answered and payload.ext_tracking_id:
        events.append(
            RecordingEvent(
                account=account,
                provider=PROVIDER_ID,
                raw=raw,
                received_at=received_at,
                recording_id=call_id_of(payload.ext_tracking_id),
                state=RecordingState.COMPLETED,
                seq=note.abonent_id,
                call_id=call_id,
                leg_id=leg_id,
                extension=mine.extension,
                at=at,
            )
        )
    return events


def _state(event_type: EventType, state: str) -> LegState:
    state = state.strip().lower()
    if event_type is EventType.CALL_RELEASED or state in ("released", "detached", "idle"):
        return LegState.DISCONNECTED
    if state in ("held", "remote held"):
        return LegState.ON_HOLD
    if event_type is EventType.CALL_ANSWERED or state == "active":
        return LegState.CONNECTED
    return LegState.RINGING


def _moment(payload: CallPayload, state: LegState) -> datetime | None:
    if state is LegState.DISCONNECTED:
        value = payload.end_time
    elif state is LegState.RINGING:
        value = payload.start_time
    else:
        value = payload.answer_time
    return _time(value)


def _time(value: int | None) -> datetime | None:
    """A doc timestamp: Unix milliseconds (as in the call history), or seconds."""
    if not value or value <= 0:
        return None
    seconds = value / 1000 if value > 10**11 else value
    return datetime.fromtimestamp(seconds, UTC)


def _remote(address: str | None, abonents: Abonents, name: str | None = None) -> Party:
    """The other side: a colleague when the address is an abonent's, else a number (with
    the name the PBX knows it by, if any)."""
    if not address:
        return Party()
    plain = address.strip()
    for prefix in ("tel:", "sip:"):
        plain = plain.removeprefix(prefix)
    plain = plain.split("@", 1)[0].split(";", 1)[0]
    colleague = abonents.by_address(plain)
    if colleague is not None and colleague.extension:
        return Party(extension=colleague.extension)
    return Party(number=plain, name=(name or "").strip() or None)
