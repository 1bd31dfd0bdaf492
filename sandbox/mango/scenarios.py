"""Scripted calls and SMS deliveries, following the spec's event walkthroughs
("Примеры поведения": outgoing call, call initiation, routing) and 3.1.1-3.1.5, and the
live incoming call that carries out commands (:mod:`sandbox.mango.live`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sandbox.mango import codes
from sandbox.mango.calls import (
    APPEARED,
    CONNECTED,
    DISCONNECTED,
    INBOUND,
    INTERNAL,
    OUTBOUND,
    CallRecord,
    HungUp,
    Leg,
    Player,
    party,
)
from sandbox.mango.live import LiveCall

if TYPE_CHECKING:
    from sandbox.mango.directory import Group
    from sandbox.mango.simulator import MangoSimulator

RING_SECONDS = 5
NO_ANSWER_SECONDS = 30
IVR_SECONDS = 8


async def run(player: Player, script: Callable[[Player], Awaitable[int]]) -> CallRecord:
    """Play a script to its summary; a hangup command ends the call early (1181)."""
    try:
        reason = await script(player)
    except HungUp:
        await player.hang_up_all()
        reason = codes.ENDED_BY_API
    return await player.finish(reason)


async def play_callback(
    sim: MangoSimulator,
    from_extension: str,
    to_number: str,
    *,
    command_id: str | None,
    answered: bool,
    record: bool,
    talk_seconds: int,
    line_number: str | None = None,
) -> CallRecord:
    """result/callback, then the leg to the employee, then the employee's leg to the client.

    As in the spec's "Инициирование исходящего вызова" walkthrough the first leg shows the
    target in ``from`` and the employee in ``to`` and ends (1000) once the employee
    answered; the second leg carries ``from.taken_from_call_id``.
    """
    directory = sim.directory
    employee = directory.employees.get(from_extension)
    target = directory.by_number(to_number)
    me = party(from_extension, employee.main_number if employee else None)
    client = party(target.extension if target else None, to_number)
    player = Player(sim, command_id=command_id or sim.new_command_id(), initiator="API")
    player.direction = INTERNAL if target else OUTBOUND
    if player.direction == OUTBOUND:
        default_line = directory.lines[0].number if directory.lines else None
        own_line = employee.outgoingline if employee else None
        player.line_number = line_number or own_line or default_line
    player.summary_from, player.summary_to = me, client

    async def script(p: Player) -> int:
        await p.result("callback", codes.SUCCESS)
        first = p.leg("abonent", from_=client, to=me)
        await p.call(first, APPEARED)
        p.wait(3)
        await p.call(first, CONNECTED)
        p.wait(2)
        await p.call(first, DISCONNECTED, codes.SUCCESS)
        p.wait(1)
        second = p.leg("abonent", from_={**me, "taken_from_call_id": first.call_id}, to=client)
        await p.call(second, APPEARED)
        if not answered:
            p.wait(NO_ANSWER_SECONDS)
            await p.call(second, DISCONNECTED, codes.NO_ANSWER)
            return codes.NO_ANSWER
        p.wait(RING_SECONDS)
        p.talk_time = p.clock
        await p.call(second, CONNECTED)
        if record:
            await p.start_recording(second, from_extension)
        p.wait(talk_seconds)
        await p.call(second, DISCONNECTED, codes.CALLEE_HUNG_UP)
        await p.stop_recording()
        return codes.CALLEE_HUNG_UP

    return await run(player, script)


async def play_group_callback(
    sim: MangoSimulator,
    group_extension: str,
    to_number: str,
    *,
    command_id: str | None,
    line_number: str,
    answered_by: str | None,
    talk_seconds: int = 30,
) -> CallRecord:
    """``commands/callback_group`` from a group to a number (3.3.2): the group rings by
    its algorithm (here all at once), ``answered_by`` picks up (the others' legs end,
    picked up elsewhere), then the client is called and talks to them."""
    directory = sim.directory
    group = directory.group_by_extension(group_extension)
    members = directory.members(group) if group is not None else []
    client = party(number=to_number)
    player = Player(sim, command_id=command_id or sim.new_command_id(), initiator="API")
    player.direction = OUTBOUND
    player.line_number = line_number
    player.summary_from, player.summary_to = party(group_extension), client

    async def script(p: Player) -> int:
        await p.result("callback_group", codes.SUCCESS)
        legs = {}
        for extension in members:
            employee = directory.employees.get(extension)
            number = employee.main_number if employee else None
            to = party(extension, number, acd_group=group_extension)
            legs[extension] = p.leg("abonent", from_=client, to=to)
            await p.call(legs[extension], APPEARED)
        if answered_by not in legs:
            p.wait(NO_ANSWER_SECONDS)
            for leg in legs.values():
                await p.call(leg, DISCONNECTED, codes.NO_ANSWER)
            return codes.GROUP_CALL_FAILED
        p.wait(3)
        winner = legs[answered_by]
        await p.call(winner, CONNECTED)
        for leg in legs.values():
            if leg is not winner:
                await p.call(leg, DISCONNECTED, codes.PICKED_BY_OTHER)
        p.wait(2)
        await p.call(winner, DISCONNECTED, codes.SUCCESS)
        me = party(answered_by, winner.to.get("number"))
        second = p.leg("abonent", from_={**me, "taken_from_call_id": winner.call_id}, to=client)
        await p.call(second, APPEARED)
        p.wait(RING_SECONDS)
        p.talk_time = p.clock
        await p.call(second, CONNECTED)
        p.summary_from = me
        p.wait(talk_seconds)
        await p.call(second, DISCONNECTED, codes.CALLEE_HUNG_UP)
        return codes.CALLEE_HUNG_UP

    return await run(player, script)


def _ringing(
    sim: MangoSimulator, group_id: int | None, ring: list[str] | None, answered_by: str | None
) -> tuple[Group | None, list[str]]:
    """The group (if any) and the extensions that ring on an incoming call."""
    directory = sim.directory
    group = None
    if group_id is not None:
        group = directory.groups.get(group_id)
        if group is None:
            raise ValueError(f"no group {group_id}")
    if ring is not None:
        ringing = list(ring)
    elif group is not None:
        ringing = directory.members(group)
    else:
        ringing = [answered_by] if answered_by else []
    if answered_by is not None and answered_by not in ringing:
        raise ValueError(f"{answered_by} is not among the ringing extensions {ringing}")
    return group, ringing


def _inbound_player(sim: MangoSimulator, line_number: str, caller: dict[str, str]) -> Player:
    player = Player(sim)
    player.direction = INBOUND
    player.line_number = line_number
    player.summary_from = caller
    return player


async def _ivr(p: Player, caller: dict[str, str], line_number: str, dtmf: str | None) -> Leg:
    """The call appears in the IVR (with the caller's DTMF, if any) and plays it."""
    ivr = p.leg("ivr", from_=caller, to=party(number=line_number, line_number=line_number))
    await p.call(ivr, APPEARED)
    if dtmf:
        p.wait(3)
        await p.dtmf(ivr, dtmf, "ivr")
    p.wait(IVR_SECONDS)
    return ivr


async def _distribute(
    p: Player,
    ivr: Leg,
    caller: dict[str, str],
    group: Group | None,
    ringing: list[str],
) -> tuple[Leg | None, list[Leg]]:
    """The IVR ends (1100), the group's queue leg appears, then a leg per extension."""
    line_number = p.line_number or ""
    p.forward_time = p.clock
    await p.call(ivr, DISCONNECTED, codes.NORMAL_END)
    source, queue = ivr, None
    acd = group.extension if group is not None else None
    if group is not None:
        to_queue = party(number=line_number, line_number=line_number, acd_group=acd)
        queue = p.leg("queue", from_={**caller, "taken_from_call_id": ivr.call_id}, to=to_queue)
        await p.call(queue, APPEARED)
        source = queue
    legs = []
    for extension in ringing:
        employee = p.sim.directory.employees.get(extension)
        number = employee.main_number if employee else None
        to = party(extension, number, line_number=line_number, acd_group=acd)
        leg = p.leg("abonent", from_={**caller, "taken_from_call_id": source.call_id}, to=to)
        await p.call(leg, APPEARED)
        legs.append(leg)
    first = legs[0].to
    p.summary_to = (
        party(acd) if group is not None else party(first.get("extension"), first.get("number"))
    )
    return queue, legs


async def play_inbound(
    sim: MangoSimulator,
    line_number: str,
    from_number: str,
    *,
    group_id: int | None,
    ring: list[str] | None,
    answered_by: str | None,
    abandon_in_ivr: bool,
    record: bool,
    talk_seconds: int,
    dtmf: str | None = None,
    ends_in_ivr: bool = False,
) -> CallRecord:
    """IVR, then the group's queue (if any), then a leg per ringing extension.

    The answering leg connects and the others end with 1182 (taken by another operator);
    when nobody answers every leg ends with 1111 and the queue with 1160. With
    ``ends_in_ivr`` the voice menu ends the call (1170) as in 3.1.5 example 2.
    """
    group, ringing = _ringing(sim, group_id, ring, answered_by)
    caller = party(number=from_number)
    player = _inbound_player(sim, line_number, caller)

    async def script(p: Player) -> int:
        ivr = await _ivr(p, caller, line_number, dtmf)
        if ends_in_ivr:
            return await _ended_by_ivr(p, ivr)
        if abandon_in_ivr or not ringing:
            await p.call(ivr, DISCONNECTED, codes.CALLER_HUNG_UP)
            return codes.CALLER_HUNG_UP
        queue, legs = await _distribute(p, ivr, caller, group, ringing)
        if answered_by is None:
            p.wait(NO_ANSWER_SECONDS)
            for leg in legs:
                await p.call(leg, DISCONNECTED, codes.NO_ANSWER)
            if queue is None:
                return codes.NO_ANSWER
            await p.call(queue, DISCONNECTED, codes.GROUP_CALL_FAILED)
            return codes.GROUP_CALL_FAILED
        p.wait(RING_SECONDS)
        winner = legs[ringing.index(answered_by)]
        p.talk_time = p.clock
        await p.call(winner, CONNECTED)
        for leg in legs:
            if leg is not winner:
                await p.call(leg, DISCONNECTED, codes.PICKED_BY_OTHER)
        if queue is not None:
            await p.call(queue, DISCONNECTED, codes.NORMAL_END)
        p.summary_to = party(answered_by, winner.to.get("number"))
        if record:
            await p.start_recording(winner, answered_by)
        p.wait(talk_seconds)
        await p.call(winner, DISCONNECTED, codes.CALLER_HUNG_UP)
        await p.stop_recording()
        return codes.CALLER_HUNG_UP

    return await run(player, script)


async def _ended_by_ivr(p: Player, ivr: Leg) -> int:
    """The voice menu ends the call itself; the summary is shaped like 3.1.5 example 2:
    no callee, ``forward_time`` set, ``talk_time`` 0 and yet ``entry_result`` 1."""
    await p.call(ivr, DISCONNECTED, codes.ENDED_BY_SCHEME)
    p.summary_extra = {"forward_time": p.create_time + 2, "entry_result": 1}
    return codes.ENDED_BY_SCHEME


async def play_live_inbound(
    sim: MangoSimulator,
    line_number: str,
    from_number: str,
    *,
    ring: list[str],
    answered_by: str | None,
    group_id: int | None,
    ring_timeout: float,
    talk_timeout: float,
) -> CallRecord:
    """IVR, queue (with a group) and ringing legs as :func:`play_inbound`, then the call
    stays up in real time carrying out commands (see :mod:`sandbox.mango.live`).

    ``answered_by`` picks up at once; without it the legs ring until routed, the client
    hangs up or ``ring_timeout`` seconds pass (missed). A connected call lasts until a
    command or the client ends it, at most ``talk_timeout`` seconds.
    """
    if not ring:
        raise ValueError("a live call rings at least one extension")
    group, ringing = _ringing(sim, group_id, ring, answered_by)
    caller = party(number=from_number)
    player = _inbound_player(sim, line_number, caller)
    live = LiveCall(player, caller, ring_timeout=ring_timeout, talk_timeout=talk_timeout)
    sim.live_calls[live.entry_id] = live

    async def script(p: Player) -> int:
        ivr = await _ivr(p, caller, line_number, None)
        queue, legs = await _distribute(p, ivr, caller, group, ringing)
        live.ring(queue, legs)
        if answered_by is not None:
            await live.answer(legs[ringing.index(answered_by)])
        reason = await live.run()
        sim.live_calls.pop(live.entry_id, None)
        await live.refuse_waiting()
        return reason

    try:
        return await run(player, script)
    finally:
        sim.live_calls.pop(live.entry_id, None)


async def play_sms(sim: MangoSimulator, command_id: str, *, delivered: bool) -> None:
    """result/sms (1000), then events/sms with ``reason`` 1000 or 4300."""
    await sim.pause()
    await sim.post("result/sms", {"command_id": command_id, "result": codes.SUCCESS})
    await sim.pause()
    reason = codes.SUCCESS if delivered else codes.SMS_FAILED
    payload = {"command_id": command_id, "timestamp": int(time.time()) + 3, "reason": reason}
    await sim.post("events/sms", payload)
