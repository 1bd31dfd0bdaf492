"""Call reports: a period's figures from the call log, in words and a chart.

- :mod:`bot.reports.period`: the day or week a report covers, in the people's time zone;
- :mod:`bot.reports.figures`: the numbers (pure, from a list of logged calls);
- :mod:`bot.reports.chart`: the PNG chart (matplotlib, Agg, off the event loop);
- :mod:`bot.reports.report`: collecting and rendering one report (``/report``);
- :mod:`bot.reports.digest`: the daily digest job for subscribed group chats.
"""

from __future__ import annotations

from bot.reports.figures import EmployeeFigures, Figures, count
from bot.reports.period import Period, PeriodKind
from bot.reports.report import RenderedReport, Report, Reports

__all__ = [
    "EmployeeFigures",
    "Figures",
    "Period",
    "PeriodKind",
    "RenderedReport",
    "Report",
    "Reports",
    "count",
]
