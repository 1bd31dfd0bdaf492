"""Call records as ``/api/call/info`` and ``/api/call/journal`` give them, in the doc's XML.

Info answers one ``<call>``; the journal a ``<calls>`` holding a ``<call>`` per call. Each
``<call>`` has ``callid``, ``status``, ``duration``, ``from``, ``to``, ``time``
(``ГГГГ-ММ-ДД ЧЧ:ММ:СС``) and, when the call was recorded, ``record_url``. The doc names no
time zone for ``time``: it is read in the account's ``journal_zone``. Use :func:`call_info`
and :func:`journal` on parsed answers; a shape the doc does not show raises
:class:`UnexpectedAnswer`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, tzinfo
from xml.etree.ElementTree import Element

log = logging.getLogger(__name__)

ANSWERED = "ANSWERED"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class UnexpectedAnswer(ValueError):
    """An answer in a shape the doc does not show; the message names no value from it."""


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


def parse_time(value: str, zone: tzinfo) -> datetime | None:
    """``2015-04-28 12:00:00`` read in ``zone``, as an aware datetime; None if unreadable."""
    try:
        return datetime.strptime(value.strip(), TIME_FORMAT).replace(tzinfo=zone)
    except ValueError:
        return None


def _text(call: Element, name: str) -> str:
    found = call.find(name)
    return (found.text or "").strip() if found is not None else ""


def entry(call: Element, zone: tzinfo) -> JournalEntry:
    """The record in one ``<call>`` element."""
    if call.tag != "call":
        raise UnexpectedAnswer("an element other than <call> where a call was expected")
    callid, status = _text(call, "callid"), _text(call, "status")
    if not callid or not status:
        raise UnexpectedAnswer("a <call> without callid or status")
    moment = parse_time(_text(call, "time"), zone)
    if moment is None:
        raise UnexpectedAnswer("a <call> whose time is not YYYY-MM-DD HH:MM:SS")
    duration = _text(call, "duration") or "0"
    if not (duration.isascii() and duration.isdigit()):
        raise UnexpectedAnswer("a <call> whose duration is not a number of seconds")
    return JournalEntry(
        callid=callid,
        status=status,
        duration=int(duration),
        caller=_text(call, "from"),
        callee=_text(call, "to"),
        time=moment,
        record_url=_text(call, "record_url") or None,
    )


def call_info(root: Element, zone: tzinfo) -> JournalEntry | None:
    """The record in a call info answer; None for an empty ``<call/>`` (no record yet)."""
    if root.tag != "call":
        raise UnexpectedAnswer("the answer is not a <call>")
    if len(root) == 0:
        return None
    return entry(root, zone)


def journal(root: Element, zone: tzinfo) -> list[JournalEntry]:
    """Every readable record in a journal answer (``<calls>`` with no ``<call>``: a day
    without calls). One record in a shape the doc does not show is left out, with a log
    line, so that it does not hold up the day's other calls."""
    if root.tag != "calls":
        raise UnexpectedAnswer("the answer is not <calls>")
    entries: list[JournalEntry] = []
    for call in root:
        try:
            entries.append(entry(call, zone))
        except UnexpectedAnswer as exc:
            log.warning("Mobilon journal: a record left out: %s", exc)
    return entries


def day_of(moment: datetime, zone: tzinfo) -> str:
    """The journal ``date`` (a day in ``zone``) ``moment`` falls on."""
    return moment.astimezone(zone).strftime("%Y-%m-%d")
