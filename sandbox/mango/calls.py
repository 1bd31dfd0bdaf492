"""Call scenario machinery: legs, sequence counters, recordings and the final summary.

A :class:`Player` posts the events of one call (one ``entry_id``) in order through the
simulator, advancing a virtual clock so timestamps reflect ring and talk times while the
real pause between events stays ``step_delay``. The scripts themselves live in
:mod:`sandbox.mango.scenarios`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.mango import codes
from sandbox.mango.recordings import fake_mp3
from sandbox.mango.stats import HistoryRow

if TYPE_CHECKING:
    from sandbox.mango.simulator import MangoSimulator

APPEARED, CONNECTED, ON_HOLD, DISCONNECTED = "Appeared", "Connected", "OnHold", "Disconnected"
INTERNAL, INBOUND, OUTBOUND = 0, 1, 2


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Ids:
    """Identifiers shaped like the spec's: base64 of colon-separated numbers."""

    def __init__(self) -> None:
        rng = random.Random()  # noqa: S311 - identifiers, not secrets
        self.product = rng.randint(10_000_000, 99_999_999)
        self.node = rng.randint(10, 99)
        self._entries = itertools.count(rng.randint(2_600_000_000, 2_700_000_000))
        self._calls = itertools.count(rng.randint(300_000_000, 400_000_000))
        self._recordings = itertools.count(rng.randint(2_800_000_000, 2_900_000_000))

    def entry(self) -> str:
        return _b64(f"{next(self._entries)}:{self.node}")

    def call(self) -> str:
        return _b64(f"1:{self.product}:{self.node}:{next(self._calls)}:1")

    def recording(self) -> str:
        return _b64(f"1:{self.product % 100_000}:{next(self._recordings)}:0")


@dataclass
class CallRecord:
    """What a scenario did: its ids and every (path, payload) it posted, in order."""

    entry_id: str
    call_ids: list[str] = field(default_factory=list)
    recording_id: str | None = None
    command_id: str | None = None
    posted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Leg:
    """One call leg (``call_id``) and its sequence counter."""

    call_id: str
    location: str
    from_: dict[str, Any]
    to: dict[str, Any]
    seq: int = 0
    open: bool = False
    state: str = ""
    command_id: str | None = None  # the command the leg came from, when not the call's


class HungUp(Exception):
    """A leg of the call was ended by ``commands/call/hangup``."""


def party(extension: str | None = None, number: str | None = None, **extra: Any) -> dict[str, Any]:
    """A ``from``/``to`` block without empty fields."""
    values = {"extension": extension, "number": number, **extra}
    return {key: value for key, value in values.items() if value not in (None, "")}


class Player:
    """Posts the events of one call and remembers what the summary needs."""

    def __init__(
        self, sim: MangoSimulator, *, command_id: str | None = None, initiator: str | None = None
    ) -> None:
        self.sim = sim
        self.clock = int(time.time())
        self.record = CallRecord(entry_id=sim.ids.entry(), command_id=command_id)
        self.initiator = initiator
        self.legs: list[Leg] = []
        self.direction = INBOUND
        self.line_number: str | None = None
        self.create_time = self.clock
        self.forward_time = 0
        self.talk_time = 0
        self.summary_from: dict[str, Any] = {}
        self.summary_to: dict[str, Any] = {}
        self.summary_extra: dict[str, Any] = {}  # summary fields a script sets itself
        self._held: dict[str, dict[str, Any]] = {}
        self._recording: tuple[str, Leg, str] | None = None
        self._recording_seq = 0
        self._dtmf_seq = 0

    # time and delivery ------------------------------------------------------------
    def wait(self, seconds: int) -> None:
        """Advance the call's clock (no real waiting)."""
        self.clock += seconds

    async def pause(self) -> None:
        """The real pause between two posts; raises HungUp for a leg being hung up."""
        await asyncio.sleep(self.sim.step_delay)
        hung = self.sim.hangups & {leg.call_id for leg in self.legs if leg.open}
        if hung:
            self.sim.hangups.difference_update(hung)
            raise HungUp(sorted(hung)[0])

    async def post(self, path: str, payload: dict[str, Any]) -> None:
        self.record.posted.append((path, payload))
        await self.sim.post(path, payload)

    async def result(self, command: str, result: int) -> None:
        await self.pause()
        await self.post(
            f"result/{command}", {"command_id": self.record.command_id, "result": result}
        )

    # legs -------------------------------------------------------------------------
    def leg(self, location: str, from_: dict[str, Any], to: dict[str, Any]) -> Leg:
        leg = Leg(self.sim.ids.call(), location, from_, to)
        self.legs.append(leg)
        self.record.call_ids.append(leg.call_id)
        return leg

    async def call(self, leg: Leg, state: str, reason: int | None = None) -> None:
        """Post ``events/call`` for a leg's new state (skips the pause when hanging up)."""
        if state != DISCONNECTED or reason != codes.ENDED_BY_API:
            await self.pause()
        leg.seq += 1
        payload: dict[str, Any] = {
            "entry_id": self.record.entry_id,
            "call_id": leg.call_id,
            "timestamp": self.clock,
            "seq": leg.seq,
            "call_state": state,
            "location": leg.location,
            "from": dict(leg.from_),
            "to": dict(leg.to),
        }
        if reason is not None:
            payload["disconnect_reason"] = reason
        command_id = leg.command_id or self.record.command_id
        if command_id is not None:
            payload["command_id"] = command_id
        if self.initiator is not None:
            payload["callback_initiator"] = self.initiator
        leg.open = state != DISCONNECTED
        leg.state = state
        if leg.open:
            self.sim.live_legs.add(leg.call_id)
        else:
            self.sim.live_legs.discard(leg.call_id)
        await self._emit_call(leg.call_id, payload)

    async def _emit_call(self, call_id: str, payload: dict[str, Any]) -> None:
        if self.sim.delivery != "out_of_order":
            await self.post("events/call", payload)
        elif call_id in self._held:
            await self.post("events/call", payload)
            await self.post("events/call", self._held.pop(call_id))
        else:
            self._held[call_id] = payload

    async def flush(self) -> None:
        """Post events held back by the out-of-order delivery mode."""
        while self._held:
            _, payload = self._held.popitem()
            await self.post("events/call", payload)

    # recordings and DTMF ------------------------------------------------------------
    async def start_recording(self, leg: Leg, extension: str) -> None:
        recording_id = self.sim.ids.recording()
        self.record.recording_id = recording_id
        self._recording = (recording_id, leg, extension)
        await self._post_recording("Started")

    @property
    def recording_leg(self) -> Leg | None:
        """The leg being recorded now, if any."""
        return self._recording[1] if self._recording is not None else None

    async def stop_recording(self) -> None:
        """Complete the recording; it reaches the cloud unless it goes to e-mail only."""
        if self._recording is None:
            return
        recording_id = self._recording[0]
        await self._post_recording("Completed")
        self._recording = None
        if self.sim.recording_recipient == "Mail":
            return
        seconds = max(1, self.clock - self.talk_time) if self.talk_time else 1
        self.sim.add_recording(
            recording_id, fake_mp3(seconds), ready_after=self.sim.recording_ready_after
        )

    async def _post_recording(self, state: str) -> None:
        assert self._recording is not None
        recording_id, leg, extension = self._recording
        await self.pause()
        self._recording_seq += 1
        payload: dict[str, Any] = {
            "recording_id": recording_id,
            "recording_state": state,
            "seq": self._recording_seq,
            "call_id": leg.call_id,
            "entry_id": self.record.entry_id,
            "extension": extension,
            "timestamp": self.clock,
        }
        if state == "Completed":
            payload["completion_code"] = codes.SUCCESS
            payload["recipient"] = self.sim.recording_recipient
        await self.post("events/recording", payload)

    async def dtmf(self, leg: Leg, digits: str, location: str) -> None:
        await self.pause()
        self._dtmf_seq += 1
        caller = str(leg.from_.get("number", ""))
        payload = {
            "seq": self._dtmf_seq,
            "dtmf": digits,
            "timestamp": self.clock,
            "call_id": leg.call_id,
            "entry_id": self.record.entry_id,
            "location": location,
            "initiator": caller,
            "from_number": caller,
            "to_number": leg.to.get("number", ""),
            "line_number": self.line_number or "",
        }
        await self.post("events/dtmf", payload)

    # the end ----------------------------------------------------------------------
    async def hang_up_all(self) -> None:
        """End every open leg as ended by an external command (1181)."""
        for leg in self.legs:
            if leg.open:
                await self.call(leg, DISCONNECTED, codes.ENDED_BY_API)
        await self.stop_recording()

    async def finish(self, reason: int) -> CallRecord:
        """Post ``events/summary`` and add the call to the history."""
        await self.flush()
        answered = bool(self.talk_time)
        forward = self.forward_time if answered else 0
        if self.direction != INBOUND:
            forward = self.create_time
        summary: dict[str, Any] = {
            "entry_id": self.record.entry_id,
            "call_direction": self.direction,
            "from": self.summary_from,
            "to": self.summary_to,
        }
        if self.line_number and self.direction != INTERNAL:
            summary["line_number"] = self.line_number
        summary |= {
            "create_time": self.create_time,
            "forward_time": forward,
            "talk_time": self.talk_time,
            "end_time": self.clock,
            "entry_result": 1 if answered else 0,
            "disconnect_reason": reason,
        }
        summary |= self.summary_extra
        await self.pause()
        await self.post("events/summary", summary)
        self.sim.history.append(
            HistoryRow(
                entry_id=self.record.entry_id,
                start=self.create_time,
                finish=self.clock,
                answer=self.talk_time,
                from_extension=str(self.summary_from.get("extension", "")),
                from_number=str(self.summary_from.get("number", "")),
                to_extension=str(self.summary_to.get("extension", "")),
                to_number=str(self.summary_to.get("number", "")),
                disconnect_reason=reason,
                line_number=self.line_number or "",
                location=self.legs[-1].location if self.legs else "ivr",
                create=self.create_time,
                records=[self.record.recording_id] if self.record.recording_id else [],
            )
        )
        return self.record
