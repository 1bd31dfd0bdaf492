"""Call history rows (section 4.5) as :class:`~bot.domain.CallRecord`, one per row.

A row is one leg: a call through a voice menu and a queue has a row for the menu, one for
the queue and one for each agent the queue rang, all with the same ``extTrackingId`` up to
``callhalf-`` (section 4.5.1).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import CallRecord
from bot.pbx.mts.abonents import Abonents
from bot.pbx.mts.webhooks import call_id_of

DIRECTIONS = {"ORIGINATING": "outbound", "TERMINATING": "inbound"}


def call_records(
    rows: Iterable[dict[str, Any]], abonents: Abonents, recordings: bool
) -> list[CallRecord]:
    """The rows as records, the answered ones first (so whoever keeps one row per call
    keeps the one that says who talked), each inbound leg naming the call's caller."""
    rows = list(rows)
    callers = _callers(rows)
    records = (
        call_record(row, abonents, recordings, caller=callers.get(index))
        for index, row in enumerate(rows)
    )
    return sorted((record for record in records if record is not None), key=_unanswered)


def call_record(
    row: dict[str, Any], abonents: Abonents, recordings: bool, *, caller: str | None = None
) -> CallRecord | None:
    """One history row; None for a row without a time or a tracking id.

    ``callTime`` is Unix milliseconds (UTC), ``duration`` the talk in seconds. The doc's
    descriptions of ``callingNumber``/``calledNumber`` are swapped in the filter list; the
    samples show ``callingNumber`` as the caller. ``caller`` overrides it (see
    :func:`call_records`).

    Answered means ``PLACED`` with an ``answerDuration`` above 0: a voice menu or a queue
    takes a call ``PLACED`` with ``answerDuration`` 0 and no person on it (section 4.5.1,
    lines 384-385 and 397, 413-414 and 427), while a person picks up after ringing (line
    471: 8 seconds).
    """
    tracking = str(row.get("extTrackingId") or "")
    try:
        started = datetime.fromtimestamp(int(row["callTime"]) / 1000, UTC)
    except (KeyError, TypeError, ValueError):
        return None
    if not tracking:
        return None
    caller = caller or str(row.get("callingNumber") or "")
    callee = str(row.get("calledNumber") or "")
    direction = DIRECTIONS.get(str(row.get("direction")), "unknown")
    own = callee if direction == "inbound" else caller
    employee = abonents.by_address(own) if own else None
    answered = row.get("status") == "PLACED" and _seconds(row.get("answerDuration")) > 0
    if employee is not None and abonents.by_address(caller if own == callee else callee):
        direction = "internal"
    call_id = call_id_of(tracking)
    return CallRecord(
        call_id=call_id,
        started_at=started,
        direction=direction,
        caller=caller,
        callee=callee,
        extension=employee.extension if employee else None,
        answered=answered,
        talk_seconds=_seconds(row.get("duration")) if answered else 0,
        # The recording is the conversation's, named as section 4.9's example (see
        # bot.pbx.mts.webhooks.to_events).
        recording_ids=(call_id,) if recordings and answered else (),
        ended_at=started
        + timedelta(seconds=_seconds(row.get("answerDuration")) + _seconds(row.get("duration"))),
        # One row per leg: the abonent this leg rang (an inbound call has one row each).
        rang=(employee.extension,) if employee and direction == "inbound" else (),
    )


def _callers(rows: list[dict[str, Any]]) -> dict[int, str]:
    """The caller of inbound rows a service put through, by row index: the doc's agent row
    shows the queue's number as ``callingNumber`` ("718", line 466), the number the queue
    leg of the same call was called on (line 410) by the client (line 409)."""
    inbound = [(i, row) for i, row in enumerate(rows) if row.get("direction") == "TERMINATING"]
    called_by: dict[tuple[str, str], str] = {}  # (call, calledNumber) -> callingNumber
    for _, row in sorted(inbound, key=lambda item: _seconds(item[1].get("callTime"))):
        calling, called = _numbers(row)
        if calling and called and calling != called:
            called_by.setdefault((_call(row), called), calling)
    callers: dict[int, str] = {}
    for index, row in inbound:
        call, first = _call(row), _numbers(row)[0]
        caller, seen = first, {first}
        while called_by.get((call, caller), caller) not in seen:
            caller = called_by[call, caller]
            seen.add(caller)
        if caller != first:
            callers[index] = caller
    return callers


def _call(row: dict[str, Any]) -> str:
    return call_id_of(str(row.get("extTrackingId") or ""))


def _numbers(row: dict[str, Any]) -> tuple[str, str]:
    return str(row.get("callingNumber") or ""), str(row.get("calledNumber") or "")


def _unanswered(record: CallRecord) -> bool:
    return not record.answered


def _seconds(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0
