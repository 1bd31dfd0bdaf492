"""The call history rows the MTS simulator writes (section 4.5): one per leg, and for a
call through the voice menu and the queue the service legs of section 4.5.1."""

from __future__ import annotations

import math
from typing import Any

from sandbox.mts.models import Leg

ENTERPRISE = "X214"
GROUP = "X214G1"
MENU_USER = f"{ENTERPRISE}AutoAttendant1@inside.mts.ru"  # line 378
QUEUE_USER = f"{GROUP}CallCenter2@inside.mts.ru"  # line 407


def row(
    *,
    user: str,
    call_time: int,
    calling: str,
    called: str,
    duration: int,
    inbound: bool,
    answer_duration: int,
    status: str = "PLACED",
    cause: str = "NORMAL",
    redirecting: str = "",
    reason: str | None = None,
    group: str,
    tracking: str,
) -> dict[str, Any]:
    """One row, fields in the doc's order."""
    return {
        "enterpriseBwksId": ENTERPRISE,
        "groupBwksId": GROUP,
        "departmentBwksId": "",
        "userId": user,
        "callTime": call_time,
        "callingNumber": calling,
        "calledNumber": called,
        "duration": max(0, duration),
        "direction": "TERMINATING" if inbound else "ORIGINATING",
        "status": status,
        "answerDuration": max(0, answer_duration),
        "terminationCause": cause,
        "redirectingNumber": redirecting,
        "redirectingReason": reason,
        "callGroupId": group,
        "recordAbonentId": None,
        "abonentName": None,
        "timeZone": "GMT+03:00",
        "extTrackingId": tracking,
    }


def leg_row(
    leg: Leg,
    own: str,
    *,
    calling: str | None = None,
    reason: str | None = None,
    group: str | None = None,
    cause: str = "USER_ALERTED_NO_ANSWER",
) -> dict[str, Any]:
    """An abonent's leg (``own``: the abonent's number). Answered, it is ``PLACED`` with
    the seconds it rang (at least one: a person picks up after a ring; the doc's answered
    rows have 2 to 8) and the seconds of talk; else ``MISSED`` with ``cause``."""
    inbound = leg.direction == "Terminator"
    answered = bool(leg.answer_time)
    remote_calls = (leg.remote, own) if inbound else (own, leg.remote)
    return row(
        user=f"{own.removeprefix('+')}@vpbx.mts.ru",
        call_time=leg.start_time,
        calling=calling or remote_calls[0],
        called=remote_calls[1],
        duration=(leg.end_time - leg.answer_time) // 1000 if answered else 0,
        inbound=inbound,
        answer_duration=max(1, math.ceil((leg.answer_time - leg.start_time) / 1000))
        if answered
        else 0,
        status="PLACED" if answered else "MISSED",
        cause="NORMAL" if answered else cause,
        redirecting=leg.redirecting_number,
        reason=reason or ("DEFLECTION" if leg.redirecting_number else None),
        group=group or leg.ext_tracking_id.rsplit("-", 1)[-1].split(":")[0],
        tracking=leg.ext_tracking_id,
    )


def service_row(
    user: str,
    tracking: str,
    *,
    start: int,
    end: int,
    calling: str,
    called: str,
    group: str,
    redirecting: str = "",
    reason: str | None = None,
) -> dict[str, Any]:
    """A voice menu's or a queue's leg: ``PLACED`` with ``answerDuration`` 0, since the
    service takes the call at once, and ``duration`` the whole time the call spent there
    (lines 397, 427)."""
    return row(
        user=user,
        call_time=start,
        calling=calling,
        called=called,
        duration=(end - start) // 1000,
        inbound=True,
        answer_duration=0,
        redirecting=redirecting,
        reason=reason,
        group=group,
        tracking=tracking,
    )
