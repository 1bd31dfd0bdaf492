"""The report's chart: calls per hour (a day) or per day (a week), answered vs missed;
and, where missed calls had a deadline, each rep's call backs within and past it.

Use :func:`render_chart` from async code: it draws off the event loop. Drawing uses
matplotlib's object API on the Agg canvas, never pyplot, so concurrent drawings share
no global figure state.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from typing import Any

ANSWERED_COLOUR = "#2e9e5b"
MISSED_COLOUR = "#d64541"
PAST_COLOUR = "#e8a33d"
SIZE_INCHES = (10.0, 4.5)
DPI = 100


@dataclass(frozen=True)
class ChartText:
    """Every word on the chart, in the reader's language."""

    title: str
    x_label: str
    y_label: str
    answered: str
    missed: str
    ticks: tuple[str, ...]  # one per bucket
    reps_title: str = ""  # the call-back panel's words
    within: str = ""
    past: str = ""


@dataclass(frozen=True)
class RepBars:
    """One rep's call backs of missed calls: within the deadline, and past it."""

    name: str
    within: int
    past: int


async def render_chart(
    text: ChartText,
    answered: tuple[int, ...],
    missed: tuple[int, ...],
    reps: tuple[RepBars, ...] = (),
) -> bytes:
    """PNG bytes of stacked bars, drawn in a worker thread."""
    return await asyncio.to_thread(draw_chart, text, answered, missed, reps)


def draw_chart(
    text: ChartText,
    answered: tuple[int, ...],
    missed: tuple[int, ...],
    reps: tuple[RepBars, ...] = (),
) -> bytes:
    """PNG bytes of stacked bars: answered below, missed on top; with ``reps``, a second
    panel of call backs within and past the deadline per rep (blocking; see render_chart)."""
    if not len(answered) == len(missed) == len(text.ticks):
        raise ValueError("one tick, one answered and one missed count per bucket")
    # imported on first use: processes that never draw (web, CLI) start without it
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    width, height = SIZE_INCHES
    figure = Figure(figsize=(width, height * (1.6 if reps else 1.0)), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(2, 1, 1) if reps else figure.add_subplot()
    positions = list(range(len(answered)))
    axes.bar(positions, answered, color=ANSWERED_COLOUR, label=text.answered)
    axes.bar(positions, missed, bottom=answered, color=MISSED_COLOUR, label=text.missed)
    axes.set_title(text.title, loc="left")
    axes.set_xlabel(text.x_label)
    axes.set_ylabel(text.y_label)
    axes.set_xticks(positions, text.ticks)
    axes.set_xlim(-0.6, len(positions) - 0.4)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if not any(answered) and not any(missed):
        axes.set_ylim(0, 1)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False)
    if reps:
        _draw_reps(figure.add_subplot(2, 1, 2), text, reps)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _draw_reps(axes: Any, text: ChartText, reps: tuple[RepBars, ...]) -> None:
    """Horizontal stacked bars per rep: within the deadline, then past it."""
    from matplotlib.ticker import MaxNLocator

    positions = list(range(len(reps)))
    within = [rep.within for rep in reps]
    axes.barh(positions, within, color=ANSWERED_COLOUR, label=text.within)
    axes.barh(
        positions, [rep.past for rep in reps], left=within, color=PAST_COLOUR, label=text.past
    )
    axes.set_yticks(positions, [rep.name for rep in reps])
    axes.invert_yaxis()
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(text.reps_title, loc="left")
    axes.grid(axis="x", alpha=0.3)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, frameon=False)
