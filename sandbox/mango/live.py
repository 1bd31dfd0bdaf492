"""A call that stays up in real time and carries out the commands sent for its legs.

It ends when the client hangs up (:meth:`MangoSimulator.end_live_call` or the talk
timeout), when nobody answers within the ring timeout, or on ``commands/call/hangup``.
Commands arrive as :class:`Order` objects on a queue and are handled one at a time:
``result/<command>`` first (for ``route`` right after the new leg appears, as in the
spec's routing walkthrough), then the events the command caused. ``call/hangup`` (3.2.3)
and ``recording/start`` (3.2.5) are handled here, ``route`` and ``transfer`` (3.2.7,
3.2.8) in :mod:`sandbox.mango.transfers`.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.mango import codes, transfers
from sandbox.mango.calls import CONNECTED, DISCONNECTED, Leg, Player

if TYPE_CHECKING:
    from sandbox.mango.simulator import MangoSimulator

END = "end"
RING_SECONDS = 5


@dataclass
class Order:
    """A command for a leg of a live call; ``END``: the client hangs up."""

    command: str
    call_id: str = ""
    command_id: str = ""
    payload: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> str:
        value = self.payload.get(name)
        return "" if value is None else str(value)


class LiveCall:
    """One live call: its legs' state and the loop waiting for its commands."""

    def __init__(
        self,
        player: Player,
        client: dict[str, Any],
        *,
        ring_timeout: float,
        talk_timeout: float,
    ) -> None:
        self.player = player
        self.sim: MangoSimulator = player.sim
        self.client = client
        self.ring_timeout = ring_timeout
        self.talk_timeout = talk_timeout
        self.orders: asyncio.Queue[Order] = asyncio.Queue()
        self.queue: Leg | None = None
        self.ringing: list[Leg] = []
        self.talk: Leg | None = None  # the client's conversation (OnHold while consulting)
        self.consult: transfers.Consult | None = None
        self._loop = asyncio.get_running_loop()
        self._ring_until = math.inf
        self._talk_until = math.inf
        self._last = self._loop.time()
        self._pending: tuple[Leg, str] | None = None  # recording asked for before Connected

    @property
    def entry_id(self) -> str:
        return self.player.record.entry_id

    def now(self) -> float:
        return self._loop.time()

    def give(self, order: Order) -> None:
        self.orders.put_nowait(order)

    def leg(self, call_id: str) -> Leg | None:
        """The open leg ``call_id`` of this call."""
        return next((g for g in self.player.legs if g.call_id == call_id and g.open), None)

    def new_leg(
        self, from_: dict[str, Any], to: dict[str, Any], *, command_id: str | None = None
    ) -> Leg:
        leg = self.player.leg("abonent", from_, to)
        leg.command_id = command_id or None
        return leg

    def ring(self, queue: Leg | None, legs: list[Leg]) -> None:
        """``legs`` ring (in ``queue``) until answered, routed or the ring timeout."""
        self.queue, self.ringing = queue, legs
        self._ring_until = self.now() + self.ring_timeout

    # the loop ---------------------------------------------------------------------
    async def run(self) -> int:
        """Carry out commands until the call ends; the summary's disconnect reason."""
        while True:
            order = await self._next()
            reason = await (self._deadline_passed() if order is None else self._carry_out(order))
            if reason is not None:
                return reason

    def _deadline(self) -> float:
        if self.talk is None:
            return self._ring_until
        if self.consult is not None:
            return min(self._talk_until, self.consult.handover_at)
        return self._talk_until

    async def _next(self) -> Order | None:
        """The next command, or None once the current deadline passed."""
        try:
            if self.orders.empty():
                remaining = self._deadline() - self.now()
                if remaining <= 0:
                    return None
                async with asyncio.timeout(remaining):
                    return await self.orders.get()
            return self.orders.get_nowait()
        except TimeoutError:
            return None
        finally:
            self._tick()

    def _tick(self) -> None:
        """Move the call's clock on by the real seconds waited (at least one)."""
        now = self.now()
        self.player.wait(max(1, math.ceil(now - self._last)))
        self._last = now

    async def _deadline_passed(self) -> int | None:
        consult = self.consult
        if consult is not None and self.now() >= consult.handover_at:
            await transfers.hand_over(self, consult)
            return None
        if self.talk is None:
            return await self.missed()
        return await self.end(codes.CALLER_HUNG_UP)

    async def _carry_out(self, order: Order) -> int | None:
        if order.command == END:
            return await self.end(codes.CALLER_HUNG_UP)
        if order.command == "call/hangup":
            return await self.hang_up(order)
        if order.command == "recording/start":
            await self.start_recording(order)
        elif order.command == "route":
            await transfers.route(self, order)
        elif order.command == "transfer":
            await transfers.transfer(self, order)
        else:
            raise ValueError(f"a live call does not carry out {order.command!r}")
        return None

    async def refuse_waiting(self) -> None:
        """Answer 4101 to the commands that came while the call was ending."""
        while not self.orders.empty():
            order = self.orders.get_nowait()
            if order.command != END:
                await self.result(order, codes.CALL_GONE)

    # steps ------------------------------------------------------------------------
    async def result(self, order: Order, result: int) -> None:
        await self.player.pause()
        payload = {"command_id": order.command_id, "result": result}
        await self.player.post(f"result/{order.command}", payload)

    async def connect(self, leg: Leg) -> None:
        """Post Connected (the first one starts the talk); a pending recording starts."""
        player = self.player
        if not player.talk_time:
            player.talk_time = player.clock
            self._talk_until = self.now() + self.talk_timeout
        await player.call(leg, CONNECTED)
        if self._pending is not None and self._pending[0] is leg:
            extension = self._pending[1]
            self._pending = None
            await player.start_recording(leg, extension)

    async def drop(self, leg: Leg, reason: int) -> None:
        """Post Disconnected; a recording of the leg completes."""
        await self.player.call(leg, DISCONNECTED, reason)
        if self.player.recording_leg is leg:
            await self.player.stop_recording()
        if self._pending is not None and self._pending[0] is leg:
            self._pending = None

    async def answer(self, leg: Leg) -> None:
        """``leg`` picks up: the other ringing legs end (1182) and the queue leg (1100)."""
        self.player.wait(RING_SECONDS)
        await self.connect(leg)
        for other in self.ringing:
            if other is not leg and other.open:
                await self.drop(other, codes.PICKED_BY_OTHER)
        if self.queue is not None and self.queue.open:
            await self.drop(self.queue, codes.NORMAL_END)
        self.ringing = []
        self.talk = leg
        self.player.summary_to = transfers.talker(leg.to)

    async def missed(self) -> int:
        """Nobody answered: the ringing legs end (1111), the queue leg too (1160)."""
        for leg in self.ringing:
            if leg.open:
                await self.drop(leg, codes.NO_ANSWER)
        if self.queue is not None and self.queue.open:
            await self.drop(self.queue, codes.GROUP_CALL_FAILED)
            return codes.GROUP_CALL_FAILED
        return codes.NO_ANSWER

    async def end(self, reason: int) -> int:
        """Every open leg ends with ``reason``; so does the recording."""
        for leg in self.player.legs:
            if leg.open:
                await self.drop(leg, reason)
        await self.player.stop_recording()
        self._pending = None
        return reason

    # commands ---------------------------------------------------------------------
    async def hang_up(self, order: Order) -> int | None:
        """The leg ends (1181) and the call with it; on a consultation leg the
        transfer is cancelled instead (3.2.8)."""
        leg = self.leg(order.call_id)
        if leg is None:
            await self.result(order, codes.CALL_GONE)
            return None
        await self.result(order, codes.SUCCESS)
        if self.consult is not None and leg is self.consult.leg:
            await transfers.cancel_consult(self, self.consult)
            return None
        await self.drop(leg, codes.ENDED_BY_API)
        return await self.end(codes.ENDED_BY_API)

    async def start_recording(self, order: Order) -> None:
        """Record an employee of the leg; Started now, or once the leg is Connected."""
        leg = self.leg(order.call_id)
        if leg is None:
            await self.result(order, codes.CALL_GONE)
            return
        employee = self.sim.directory.by_number(order.get("call_party_number"))
        on_leg = {leg.from_.get("extension"), leg.to.get("extension")}
        if employee is None or employee.extension not in on_leg:
            await self.result(order, codes.NO_NUMBER)
            return
        await self.result(order, codes.SUCCESS)
        player = self.player
        if player.recording_leg is leg:
            return
        if leg.state != CONNECTED:
            self._pending = (leg, employee.extension)
            return
        await player.stop_recording()
        await player.start_recording(leg, employee.extension)
