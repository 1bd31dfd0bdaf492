"""How a period's missed calls were called back: how fast, how many within the deadline,
how many never, and why some needed no call back.

Use :func:`callback_figures` on the missed calls :meth:`MissedCalls.between` gives for
the period. It is pure, so the numbers can be checked on hand-built calls.

- called_back: missed calls whose client somebody talked to afterwards (a call back, or
  the client calling again and being answered); the time to call back runs from the
  missed call to that conversation: its median and 90th percentile (nearest rank);
- with_deadline / within_deadline: missed calls the account gave a deadline
  (``callback_within``), and those called back by it;
- never: missed calls still open (nobody has talked to the client);
- no_call_back: closed as needing no call back, by reason;
- reps: the same per employee who called back, busiest first.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.services.missed_calls import MissedCall, NoCallBack

TALKED = ("called_back", "answered_again")  # how a missed call ends with a conversation


@dataclass(frozen=True)
class RepCallbacks:
    extension: str
    called_back: int
    median_seconds: int
    within_deadline: int
    past_deadline: int


@dataclass(frozen=True)
class CallbackFigures:
    missed: int
    called_back: int
    median_seconds: int | None
    p90_seconds: int | None
    with_deadline: int
    within_deadline: int
    never: int
    no_call_back: tuple[tuple[NoCallBack, int], ...]
    reps: tuple[RepCallbacks, ...]

    @property
    def within_share(self) -> int | None:
        """Percent of the calls with a deadline called back by it; None without deadlines."""
        if not self.with_deadline:
            return None
        return round(100 * self.within_deadline / self.with_deadline)


def callback_figures(missed: Iterable[MissedCall]) -> CallbackFigures:
    """The call-back figures of ``missed`` (one period's missed calls)."""
    calls = list(missed)
    talked = [c for c in calls if c.closed_how in TALKED and c.closed_at is not None]
    waits = [_wait(call) for call in talked]
    reasons = Counter(c.no_call_back for c in calls if c.no_call_back is not None)
    with_deadline = [c for c in calls if c.remind_at is not None and not c.no_call_back]
    return CallbackFigures(
        missed=len(calls),
        called_back=len(talked),
        median_seconds=round(statistics.median(waits)) if waits else None,
        p90_seconds=_nearest_rank(waits, 90),
        with_deadline=len(with_deadline),
        within_deadline=sum(1 for call in with_deadline if _in_time(call)),
        never=sum(1 for call in calls if call.is_open),
        no_call_back=tuple((reason, reasons[reason]) for reason in NoCallBack if reasons[reason]),
        reps=_reps(talked),
    )


def _wait(call: MissedCall) -> int:
    assert call.closed_at is not None
    return max(0, int((call.closed_at - call.at).total_seconds()))


def _in_time(call: MissedCall) -> bool:
    return (
        call.closed_how in TALKED
        and call.closed_at is not None
        and call.remind_at is not None
        and call.closed_at <= call.remind_at
    )


def _nearest_rank(values: list[int], percent: int) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def _reps(talked: list[MissedCall]) -> tuple[RepCallbacks, ...]:
    by_rep: dict[str, list[MissedCall]] = {}
    for call in talked:
        by_rep.setdefault(call.closed_by_extension or "?", []).append(call)
    rows = [
        RepCallbacks(
            extension=extension,
            called_back=len(calls),
            median_seconds=round(statistics.median(_wait(c) for c in calls)),
            within_deadline=sum(1 for c in calls if _in_time(c)),
            past_deadline=sum(1 for c in calls if c.remind_at is not None and not _in_time(c)),
        )
        for extension, calls in by_rep.items()
    ]
    return tuple(sorted(rows, key=lambda row: (-row.called_back, row.extension)))
