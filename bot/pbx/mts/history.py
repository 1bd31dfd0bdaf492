"""Call history rows (section 4.5) as :class:`~bot.domain.CallRecord`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import CallRecord
from bot.pbx.mts.abonents import Abonents
from bot.pbx.mts.webhooks import call_id_of

DIRECTIONS = {"ORIGINATING": "outbound", "TERMINATING": "inbound"}


def call_record(row: dict[str, Any], abonents: Abonents, recordings: bool) -> CallRecord | None:
    """One history row; None for a row without a time or a tracking id.

    ``callTime`` is Unix milliseconds (UTC), ``duration`` the talk in seconds. The doc's
    descriptions of ``callingNumber``/``calledNumber`` are swapped in the filter list; the
    samples show ``callingNumber`` as the caller.
    """
    tracking = str(row.get("extTrackingId") or "")
    try:
        started = datetime.fromtimestamp(int(row["callTime"]) / 1000, UTC)
    except (KeyError, TypeError, ValueError):
        return None
    if not tracking:
        return None
    caller = str(row.get("callingNumber") or "")
    callee = str(row.get("calledNumber") or "")
    direction = DIRECTIONS.get(str(row.get("direction")), "unknown")
    own = callee if direction == "inbound" else caller
    employee = abonents.by_address(own) if own else None
    answered = row.get("status") == "PLACED"
    if employee is not None and abonents.by_address(caller if own == callee else callee):
        direction = "internal"
    return CallRecord(
        call_id=call_id_of(tracking),
        started_at=started,
        direction=direction,
        caller=caller,
        callee=callee,
        extension=employee.extension if employee else None,
        answered=answered,
        talk_seconds=int(row.get("duration") or 0) if answered else 0,
        recording_ids=(tracking,) if recordings and answered else (),
        ended_at=started
        + timedelta(seconds=_seconds(row.get("answerDuration")) + _seconds(row.get("duration"))),
        # One row per leg: the abonent this leg rang (an inbound call has one row each).
        rang=(employee.extension,) if employee and direction == "inbound" else (),
    )


def _seconds(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0
