"""Normalised PBX events: what every provider's webhook parsing produces.

Each event keeps the vendor's payload in ``raw``. They travel through the events stream
as JSON (:data:`PbxEvent` is a discriminated union on ``kind``), and ``dedupe_key`` names
what makes two deliveries the same event.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.domain import utcnow


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"
    UNKNOWN = "unknown"


class LegState(StrEnum):
    """Where one leg of a call is: ringing, talking, on hold, or over."""

    RINGING = "ringing"
    CONNECTED = "connected"
    ON_HOLD = "on_hold"
    DISCONNECTED = "disconnected"


class RecordingState(StrEnum):
    STARTED = "started"
    CONTINUED = "continued"
    COMPLETED = "completed"


class Party(BaseModel):
    """One end of a call as the PBX reports it; any field may be unknown."""

    model_config = ConfigDict(frozen=True)

    extension: str | None = None
    number: str | None = None
    line_number: str | None = None
    group: str | None = None
    name: str | None = None  # a caller name the PBX sends with the event (MTS)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    account: str
    provider: str
    received_at: datetime = Field(default_factory=utcnow)
    raw: dict[str, Any] = {}

    @property
    def dedupe_key(self) -> str:
        raise NotImplementedError


class CallLegEvent(_Event):
    """A leg of a call changed state (rang an extension, was answered, put on hold, ended)."""

    kind: Literal["call_leg"] = "call_leg"
    call_id: str  # groups every leg of one call (the PBX's call-group id)
    leg_id: str
    seq: int
    state: LegState
    at: datetime
    location: str | None = None
    caller: Party = Party()
    callee: Party = Party()
    disconnect_reason: int | None = None
    command_id: str | None = None
    task_id: str | None = None
    callback_initiator: str | None = None
    transferred_from: str | None = None
    comment: str | None = None  # the PBX's own words about the call, as it last sent them
    comment_version: int = 0  # how many comments the PBX had sent by then: newer wins

    @property
    def dedupe_key(self) -> str:
        return f"leg:{self.leg_id}:{self.seq}"


class CallSummaryEvent(_Event):
    """A call is over: who called whom, whether anyone talked, and the timings."""

    kind: Literal["call_summary"] = "call_summary"
    call_id: str
    direction: Direction
    caller: Party = Party()
    callee: Party = Party()
    line_number: str | None = None
    created_at: datetime
    forwarded_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime
    answered: bool
    disconnect_reason: int | None = None
    recovered: bool = False  # built from the PBX's call log: no webhook told of this call
    rang: tuple[str, ...] = ()  # recovered calls: the extensions the log says it rang
    rang_unknown: bool = False  # recovered calls: the log cannot tell whom it rang
    comment: str | None = None  # the PBX's own words about the call, as it last sent them
    comment_version: int = 0  # how many comments the PBX had sent by then: newer wins

    @property
    def talk_seconds(self) -> int:
        if self.answered_at is None:
            return 0
        return max(0, int((self.ended_at - self.answered_at).total_seconds()))

    @property
    def dedupe_key(self) -> str:
        return f"summary:{self.call_id}"


class RecordingEvent(_Event):
    """A recording of a call started, moved to another leg, or completed."""

    kind: Literal["recording"] = "recording"
    recording_id: str
    state: RecordingState
    seq: int
    call_id: str | None = None
    leg_id: str | None = None
    extension: str | None = None
    at: datetime
    completion_code: int | None = None  # the PBX's own, for the log
    succeeded: bool = True  # False: the PBX says the recording failed (nothing to fetch)
    command_id: str | None = None
    emailed_only: bool = False  # the PBX sent it to e-mail and keeps no copy to fetch

    @property
    def dedupe_key(self) -> str:
        return f"recording:{self.recording_id}:{self.state.value}:{self.seq}"


class SmsStatusEvent(_Event):
    """What became of an SMS the bot sent (delivered, or why not)."""

    kind: Literal["sms_status"] = "sms_status"
    command_id: str
    code: int
    delivered: bool
    at: datetime
    message_key: str = "pbx_errors.failed"  # the provider's sentence for ``code``

    @property
    def dedupe_key(self) -> str:
        return f"sms:{self.command_id}:{self.code}"


class DtmfEvent(_Event):
    """Digits a caller pressed in the voice menu."""

    kind: Literal["dtmf"] = "dtmf"
    call_id: str
    leg_id: str
    seq: int
    digits: str
    location: str | None = None
    at: datetime
    initiator: str | None = None  # the number that pressed the keys
    from_number: str | None = None  # the caller, when the PBX knows the number
    to_number: str | None = None  # the number called
    line_number: str | None = None  # the PBX line the call came in on

    @property
    def dedupe_key(self) -> str:
        return f"dtmf:{self.leg_id}:{self.seq}"


class CommandResultEvent(_Event):
    """How a command the bot sent (callback, SMS, hangup…) ended, matched by ``command_id``."""

    kind: Literal["command_result"] = "command_result"
    command: str
    command_id: str
    code: int
    success: bool
    message_key: str
    data: dict[str, Any] = {}

    @property
    def dedupe_key(self) -> str:
        return f"result:{self.command}:{self.command_id}"


PbxEvent = Annotated[
    CallLegEvent
    | CallSummaryEvent
    | RecordingEvent
    | SmsStatusEvent
    | DtmfEvent
    | CommandResultEvent,
    Field(discriminator="kind"),
]
