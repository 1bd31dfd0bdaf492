"""From a followed call and its journal record to the pipeline's events.

Taken literally, a record tells ``from`` (the caller), ``to`` (whom the call reached),
``time`` (when it began, read in the account's ``journal_zone``), ``duration`` (seconds
from then to its end) and ``status`` (``ANSWERED`` or how else it ended). Who answered a
call that rang several people is the record's ``to`` when that is an extension; when it is
not and one person rang, that person. Every employee the call rang gets a leg; the summary
is emitted once, here, because Mobilon sends nothing when a call ends.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.events import (
    CallLegEvent,
    CallSummaryEvent,
    Direction,
    LegState,
    Party,
    PbxEvent,
    RecordingEvent,
    RecordingState,
)
from bot.pbx.mobilon.followed_calls import FollowedCall
from bot.pbx.mobilon.journal import JournalEntry

PROVIDER = "mobilon"
EXTENSION = re.compile(r"^\d{1,10}$")
RINGING_SEQ, CONNECTED_SEQ, DISCONNECTED_SEQ = 1, 2, 3


def leg_id(call_id: str, extension: str) -> str:
    return f"{call_id}:{extension}"


def ringing(account: str, call_id: str, number: str, extension: str, at: datetime) -> CallLegEvent:
    """The leg event of one incoming-call webhook: ``number`` rings ``extension``."""
    return CallLegEvent(
        account=account,
        provider=PROVIDER,
        raw={"number": number, "extension": extension},
        call_id=call_id,
        leg_id=leg_id(call_id, extension),
        seq=RINGING_SEQ,
        state=LegState.RINGING,
        at=at,
        caller=Party(number=number),
        callee=Party(extension=extension),
    )


def answerer(call: FollowedCall, record: JournalEntry) -> str | None:
    """The extension that took an answered call, when the record or the rings tell."""
    if not record.answered:
        return None
    if call.direction == "outbound":
        return call.extension
    if EXTENSION.match(record.callee) and record.callee != record.caller:
        return record.callee
    return next(iter(call.rings)) if len(call.rings) == 1 else None


def finished(
    account: str, call: FollowedCall, record: JournalEntry | None, now: datetime
) -> tuple[list[PbxEvent], FollowedCall]:
    """The legs, the summary and the recording for a call that ended; ``record`` None when
    the PBX never recorded it (reported as not answered). Returns the call updated."""
    answered = record is not None and record.answered
    by = answerer(call, record) if record is not None else None
    begun = min(record.time, call.first_ring) if record else call.first_ring
    end = record.time + timedelta(seconds=record.duration) if record else call.last_ring
    end = max(end, call.last_ring) if not answered else max(end, begun)
    answered_at = None
    if answered:
        ring = call.rings.get(by or "", call.first_ring)
        answered_at = min(max(ring, record.time if record else ring), end)
    raw = _raw(record)
    events: list[PbxEvent] = []
    legs = list(call.rings) + ([by] if by and by not in call.rings else [])
    for extension in legs:
        events.extend(_legs(account, call, extension, by, answered_at, end, raw))
    summary = CallSummaryEvent(
        account=account,
        provider=PROVIDER,
        raw=raw,
        call_id=call.call_id,
        direction=Direction.INBOUND if call.direction == "inbound" else Direction.OUTBOUND,
        caller=_client(call) if call.direction == "inbound" else _employee(call, by),
        callee=_employee(call, by) if call.direction == "inbound" else _client(call),
        created_at=begun,
        answered_at=answered_at,
        ended_at=end,
        answered=answered,
    )
    events.append(summary)
    updated = call.model_copy(
        update={
            "finished_at": now,
            "answered": answered,
            "answered_by": by,
            "callid": record.callid if record else call.callid,
        }
    )
    if record is not None and record.record_url:
        events.append(recording(account, updated, end))
        updated = updated.model_copy(update={"recording_sent": True})
    return events, updated


def recording(account: str, call: FollowedCall, at: datetime) -> RecordingEvent:
    """The call's recording is ready; it is fetched by ``callid`` when sent."""
    assert call.callid is not None
    return RecordingEvent(
        account=account,
        provider=PROVIDER,
        recording_id=call.callid,
        state=RecordingState.COMPLETED,
        seq=0,
        call_id=call.call_id,
        extension=call.answered_by,
        at=at,
    )


def _legs(
    account: str,
    call: FollowedCall,
    extension: str,
    by: str | None,
    answered_at: datetime | None,
    end: datetime,
    raw: dict[str, object],
) -> list[CallLegEvent]:
    if call.direction == "inbound":
        caller, callee = _client(call), Party(extension=extension)
    else:
        caller, callee = Party(extension=extension), _client(call)
    common = {
        "account": account,
        "provider": PROVIDER,
        "raw": raw,
        "call_id": call.call_id,
        "leg_id": leg_id(call.call_id, extension),
        "caller": caller,
        "callee": callee,
        "command_id": call.command_id,
    }
    events = []
    if extension == by and answered_at is not None:
        events.append(
            CallLegEvent(**common, seq=CONNECTED_SEQ, state=LegState.CONNECTED, at=answered_at)
        )
    stopped = end if extension == by or answered_at is None else answered_at
    events.append(
        CallLegEvent(**common, seq=DISCONNECTED_SEQ, state=LegState.DISCONNECTED, at=stopped)
    )
    return events


def _client(call: FollowedCall) -> Party:
    return Party(number=call.number)


def _employee(call: FollowedCall, by: str | None) -> Party:
    extension = by or call.extension or next(iter(call.rings), None)
    return Party(extension=extension)


def _raw(record: JournalEntry | None) -> dict[str, object]:
    if record is None:
        return {}
    raw: dict[str, object] = {
        "callid": record.callid,
        "status": record.status,
        "duration": record.duration,
        "from": record.caller,
        "to": record.callee,
        "time": record.time.isoformat(),
    }
    if record.record_url:
        raw["record_url"] = "(present)"  # it carries the account token
    return raw
