"""``commands/route`` (3.2.7) and ``commands/transfer`` (3.2.8) carried out on a live call.

The event sequences follow the spec's walkthroughs "Маршрутизация вызова", "Перевод
вызова с консультацией" and "Перевод вызова без консультации": every command makes a new
leg (call_id) within the same ``entry_id``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.mango import codes
from sandbox.mango.calls import APPEARED, CONNECTED, ON_HOLD, Leg, party

if TYPE_CHECKING:
    from sandbox.mango.live import LiveCall, Order
    from sandbox.mango.simulator import MangoSimulator

NUMBER = re.compile(r"\+?\d{1,20}|sip:[^@\s]+@\S+")
INITIATORS = ("from.extension", "from.number", "to.extension", "to.number")
HOLD_SECONDS = 3
RING_SECONDS = 5
NO_ANSWER_SECONDS = 30


def talker(block: dict[str, Any]) -> dict[str, Any]:
    """Who a ``from``/``to`` block names: its extension and number only."""
    return party(block.get("extension"), block.get("number"))


@dataclass
class Target:
    """Where a command sends the call: the new leg's ``to`` and whether it answers."""

    to: dict[str, Any]
    answers: bool
    extension: str | None = None


def resolve(sim: MangoSimulator, number: str, *, line_number: str | None = None) -> Target:
    """An employee (by extension or one of their numbers) or an outside number.

    A target answers unless its number or extension is in ``sim.unanswering``.
    ``line_number`` is shown on a leg to an employee, as routing does.
    """
    employee = sim.directory.by_number(number)
    if employee is None:
        return Target(party(number=number), number not in sim.unanswering)
    shown = employee.main_number if number == employee.extension else number
    to = party(employee.extension, shown, line_number=line_number)
    answers = not {number, employee.extension} & sim.unanswering
    return Target(to, answers, employee.extension)


@dataclass
class Consult:
    """A consultative transfer between the consultation answering and the handover."""

    held: Leg  # the client's leg, OnHold
    leg: Leg  # the initiator's call to the consultant
    client: dict[str, Any]
    reason: int  # how the held leg ends when the initiator hangs up
    handover_at: float  # the loop time the initiator hangs up


# route --------------------------------------------------------------------------
async def route(call: LiveCall, order: Order) -> None:
    """Route a call not yet answered: the ringing legs end (1183), the queue leg
    (1100), a new leg from the client to ``to_number`` appears, then result/route,
    then the target answers (unless it is in ``sim.unanswering``).
    """
    leg = call.leg(order.call_id)
    if leg is None:
        await call.result(order, codes.CALL_GONE)
        return
    if call.talk is not None or leg.state != APPEARED:
        await call.result(order, codes.IMPOSSIBLE)
        return
    number = order.get("to_number")
    if not NUMBER.fullmatch(number):
        await call.result(order, codes.WRONG_NUMBER)
        return
    target = resolve(call.sim, number, line_number=call.player.line_number)
    for ringing in call.ringing:
        if ringing.open:
            await call.drop(ringing, codes.NEW_OPERATOR)
    if call.queue is not None and call.queue.open:
        await call.drop(call.queue, codes.NORMAL_END)
    from_ = {**call.client, "taken_from_call_id": leg.call_id}
    new = call.new_leg(from_, target.to, command_id=order.command_id)
    await call.player.call(new, APPEARED)
    await call.result(order, codes.SUCCESS)
    call.ring(None, [new])
    call.player.summary_to = talker(target.to)
    if target.answers:
        await call.answer(new)


# transfer -----------------------------------------------------------------------
async def transfer(call: LiveCall, order: Order) -> None:
    """Check the command against the call, post its result, then transfer."""
    leg = call.leg(order.call_id)
    if leg is None:
        await call.result(order, codes.CALL_GONE)
        return
    if leg is not call.talk or leg.state != CONNECTED or call.consult is not None:
        await call.result(order, codes.IMPOSSIBLE)
        return
    initiator = order.get("initiator")
    if initiator not in INITIATORS:
        await call.result(order, codes.BAD_PARAMETERS)
        return
    block, name = initiator.split(".")
    own, other = (leg.from_, leg.to) if block == "from" else (leg.to, leg.from_)
    value = own.get(name)
    if not value:
        await call.result(order, codes.BAD_PARAMETERS)
        return
    employee = call.sim.directory.by_number(str(value))
    number = order.get("to_number")
    if employee is None:  # "В ВАТС разрешены переводы только от имени сотрудника ВАТС"
        code = codes.IMPOSSIBLE
    elif not NUMBER.fullmatch(number):
        code = codes.WRONG_NUMBER
    elif resolve(call.sim, number).extension == employee.extension:
        code = codes.IMPOSSIBLE
    else:
        code = codes.SUCCESS
    await call.result(order, code)
    if code != codes.SUCCESS:
        return
    # the initiator leaves the leg as its "to" (1120) or "from" (1110) side
    reason = codes.CALLEE_HUNG_UP if block == "to" else codes.CALLER_HUNG_UP
    target = resolve(call.sim, number)
    if order.get("method") == "hold":
        await _consult(call, leg, talker(own), talker(other), target, reason)
    else:
        await _blind(call, leg, talker(own), talker(other), target, reason)


async def _blind(
    call: LiveCall,
    leg: Leg,
    me: dict[str, Any],
    client: dict[str, Any],
    target: Target,
    reason: int,
) -> None:
    """As in "Перевод вызова без консультации": the leg goes OnHold, a leg from the initiator
    to the target appears, the initiator's leg ends, the new leg appears again from the
    client and connects. Unanswered, it ends (1111) and the client is put back through
    to the initiator on another new leg.
    """
    player = call.player
    player.wait(HOLD_SECONDS)
    await player.call(leg, ON_HOLD)
    new = call.new_leg(dict(me), target.to)
    await player.call(new, APPEARED)
    player.wait(HOLD_SECONDS)
    await call.drop(leg, reason)
    new.from_ = {**client, "taken_from_call_id": leg.call_id}
    await player.call(new, APPEARED)
    if target.answers:
        player.wait(RING_SECONDS)
        await call.connect(new)
        call.talk = new
        player.summary_to = talker(target.to)
        return
    player.wait(NO_ANSWER_SECONDS)
    await call.drop(new, codes.NO_ANSWER)
    back = call.new_leg({**client, "taken_from_call_id": new.call_id}, dict(me))
    await player.call(back, APPEARED)
    player.wait(RING_SECONDS)
    await call.connect(back)
    call.talk = back


async def _consult(
    call: LiveCall,
    leg: Leg,
    me: dict[str, Any],
    client: dict[str, Any],
    target: Target,
    reason: int,
) -> None:
    """As in "Перевод вызова с консультацией": the client's leg goes OnHold, the
    initiator's consultation leg appears and connects; the handover follows after
    ``sim.consult_handover_delay`` (see :func:`hand_over`). Unanswered, the
    consultation ends (1111) and the client's leg is Connected again.
    """
    player = call.player
    player.wait(HOLD_SECONDS)
    await player.call(leg, ON_HOLD)
    consultation = call.new_leg({**me, "taken_from_call_id": leg.call_id}, target.to)
    await player.call(consultation, APPEARED)
    if not target.answers:
        player.wait(NO_ANSWER_SECONDS)
        await call.drop(consultation, codes.NO_ANSWER)
        await call.connect(leg)
        return
    player.wait(RING_SECONDS)
    await call.connect(consultation)
    handover_at = call.now() + call.sim.consult_handover_delay
    call.consult = Consult(leg, consultation, client, reason, handover_at)


async def hand_over(call: LiveCall, consult: Consult) -> None:
    """The initiator hangs up: the held leg ends (1120 for a "to" initiator) and the
    consultation leg is Connected again, now from the client."""
    call.consult = None
    await call.drop(consult.held, consult.reason)
    consult.leg.from_ = {**consult.client, "taken_from_call_id": consult.held.call_id}
    await call.connect(consult.leg)
    call.talk = consult.leg
    call.player.summary_to = talker(consult.leg.to)


async def cancel_consult(call: LiveCall, consult: Consult) -> None:
    """``call/hangup`` on the consultation leg: it ends (1181), the client's leg is
    Connected again (3.2.8)."""
    call.consult = None
    await call.drop(consult.leg, codes.ENDED_BY_API)
    await call.connect(consult.held)
