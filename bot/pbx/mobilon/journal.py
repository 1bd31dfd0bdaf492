"""Call records as ``/api/call/info`` and ``/api/call/journal`` give them (``format=json``).

The doc shows the XML: ``<call>`` with ``callid``, ``status``, ``record_url`` (optional),
``duration``, ``from``, ``to`` and ``time`` (``ГГГГ-ММ-ДД ЧЧ:ММ:СС``, Moscow time), and
``<calls>`` holding several. The JSON is read leniently in the same shape: one object, an
object under ``call``, or a list (bare, or under ``calls`` / ``calls.call``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

MSK = timezone(timedelta(hours=3))
ANSWERED = "ANSWERED"


@dataclass(frozen=True)
class JournalEntry:
    """One finished call as the PBX recorded it."""

    callid: str
    status: str
    duration: int
    caller: str  # ``from``
    callee: str  # ``to``
    time: datetime
    record_url: str | None = None

    @property
    def answered(self) -> bool:
        return self.status.strip().upper() == ANSWERED


def parse_time(value: Any) -> datetime | None:
    """``2015-04-28 12:00:00`` (Moscow time) as an aware datetime."""
    try:
        return datetime.strptime(str(value).strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=MSK)
    except ValueError:
        return None


def entry(data: Any) -> JournalEntry | None:
    """The record in one ``call`` object; None when it lacks a callid, status or time."""
    if not isinstance(data, dict):
        return None
    callid = str(data.get("callid") or "").strip()
    status = str(data.get("status") or "").strip()
    moment = parse_time(data.get("time"))
    if not callid or not status or moment is None:
        return None
    try:
        duration = max(0, int(str(data.get("duration") or 0).strip() or 0))
    except ValueError:
        duration = 0
    record_url = str(data.get("record_url") or "").strip() or None
    return JournalEntry(
        callid=callid,
        status=status,
        duration=duration,
        caller=str(data.get("from") or "").strip(),
        callee=str(data.get("to") or "").strip(),
        time=moment,
        record_url=record_url,
    )


def call_info(data: Any) -> JournalEntry | None:
    """The record in a call info answer, None when it holds no call (not finished yet)."""
    if isinstance(data, dict) and "calls" in data:
        found = journal(data)
        return found[0] if len(found) == 1 else None
    if isinstance(data, dict) and isinstance(data.get("call"), dict):
        data = data["call"]
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    return entry(data)


def journal(data: Any) -> list[JournalEntry]:
    """Every readable record in a journal answer."""
    if isinstance(data, dict):
        data = data.get("calls", data.get("call", []))
    if isinstance(data, dict):
        data = data.get("call", [data])
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return []
    return [found for found in (entry(item) for item in data) if found is not None]


def day_of(moment: datetime) -> str:
    """The journal ``date`` (Moscow day) ``moment`` falls on."""
    return moment.astimezone(MSK).strftime("%Y-%m-%d")
