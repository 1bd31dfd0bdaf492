"""Calls as the Mobilon simulator keeps them (their answers are :mod:`.answers`)."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Literal

MSK = timezone(timedelta(hours=3))
DAY_FORMAT = "%Y-%m-%d"


@dataclass
class Subscriber:
    """An employee: their extension and the key of the portal user linked to them.

    ``registered`` False: ``CallToSubscriber`` answers code 1; ``has_subscriber`` False:
    the key's user has no subscriber or operator (code 5).
    """

    extension: str
    key: str
    registered: bool = True
    has_subscriber: bool = True


@dataclass
class SimCall:
    """One call: in progress until ``status`` is set, then in the journal."""

    callid: str
    direction: Literal["inbound", "outbound"]
    caller: str  # ``from``
    callee: str  # ``to``
    started: datetime
    rang: list[str] = field(default_factory=list)
    status: str | None = None
    duration: int = 0
    recorded: bool = False
    record_requests: int = 0

    @property
    def finished(self) -> bool:
        return self.status is not None

    def day_in(self, zone: tzinfo) -> str:
        """The journal ``date`` the call is filed under, in the PBX's ``zone``."""
        return self.started.astimezone(zone).strftime(DAY_FORMAT)


class CallIds:
    """``1476087194.216329``-style ids, as the doc shows them."""

    def __init__(self) -> None:
        self._counter = itertools.count(216329)

    def next(self) -> str:
        return f"{int(time.time())}.{next(self._counter)}"


def now_msk() -> datetime:
    return datetime.now(MSK).replace(microsecond=0)
