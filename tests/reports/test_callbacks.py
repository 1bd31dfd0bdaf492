"""Call-back figures on a known day: how fast, how many in time, how many never, and why
some needed no call back; in the report's words (both languages) and on its chart."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from PIL import Image

from bot.domain import Language
from bot.reports import Period, Report, count
from bot.reports.callbacks import CallbackFigures, RepCallbacks, callback_figures
from bot.reports.report import report_chart, report_text
from bot.services.missed_calls import MissedCall, NoCallBack
from bot.texts import Texts
from tests.reports.test_figures import MORNING, MOSCOW, _day
from tests.reports.test_rendering import NAMES

TEXTS = Texts()
QUARTER = timedelta(minutes=15)


def at(clock: str) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return MORNING.replace(hour=hours, minute=minutes, second=0, microsecond=0)


def missed(
    call_id: str,
    when: str,
    *,
    deadline: bool = True,
    closed: str | None = None,
    how: str = "called_back",
    by: str | None = None,
    reason: NoCallBack | None = None,
) -> MissedCall:
    return MissedCall(
        account="main",
        call_id=call_id,
        client_number="+79001234567",
        at=at(when),
        remind_at=at(when) + QUARTER if deadline else None,
        closed_at=at(closed) if closed else None,
        closed_how=("no_call_back" if reason else how) if closed else None,
        closed_by=by,
        closed_by_extension=by,
        no_call_back=reason,
    )


def known_day() -> list[MissedCall]:
    return [
        missed("m1", "10:00", closed="10:05", by="101"),  # 5 min, in time
        missed("m2", "10:10", closed="10:40", by="102", how="answered_again"),  # 30, late
        missed("m3", "11:00", closed="11:20", by="101"),  # 20 min, late
        missed("m4", "12:00"),  # never called back
        missed("m5", "12:30", closed="12:35", by="102", reason=NoCallBack.SPAM),
        missed("m6", "13:00", deadline=False, closed="13:10", by="101"),  # 10 min, no deadline
    ]


def test_figures_of_a_known_day() -> None:
    assert callback_figures(known_day()) == CallbackFigures(
        missed=6,
        called_back=4,
        median_seconds=15 * 60,  # of 5, 10, 20 and 30 minutes
        p90_seconds=30 * 60,
        with_deadline=4,  # the spam call needs no call back, so it has no deadline to meet
        within_deadline=1,
        never=1,
        no_call_back=((NoCallBack.SPAM, 1),),
        reps=(
            RepCallbacks(
                "101", called_back=3, median_seconds=600, within_deadline=1, past_deadline=1
            ),
            RepCallbacks(
                "102", called_back=1, median_seconds=1800, within_deadline=0, past_deadline=1
            ),
        ),
    )
    assert callback_figures(known_day()).within_share == 25
    assert callback_figures([]).within_share is None


def report() -> Report:
    figures = count(_day(), Period.today(MORNING, MOSCOW), open_missed=set())
    return Report("main", figures, NAMES, callback_figures(known_day()))


def test_the_report_says_so_in_both_languages() -> None:
    en = report_text(report(), TEXTS.bind(Language.EN))
    assert (
        "📞 Called back: 4 · median 15:00 · 90% within 30:00\n"
        "    Anna Petrova: 3 · median 10:00 · in time 1\n"
        "    Boris Ivanov: 1 · median 30:00 · in time 0\n"
        "⏰ Called back within the deadline: 1 of 4 (25%)\n"
        "🚫 No call back needed: spam 1\n"
    ) in en
    ru = report_text(report(), TEXTS.bind(Language.RU))
    assert "📞 Перезвонили: 4 · медиана 15:00 · 90% за 30:00\n" in ru
    assert "⏰ Перезвонили в срок: 1 из 4 (25%)\n" in ru
    assert "🚫 Перезванивать не нужно: спам 1\n" in ru


async def test_the_chart_adds_call_backs_in_and_past_time_per_rep() -> None:
    plain = await report_chart(Report("main", report().figures, NAMES), TEXTS.bind(Language.EN))
    with_reps = await report_chart(report(), TEXTS.bind(Language.EN))
    assert plain is not None and with_reps is not None
    plain_size = Image.open(io.BytesIO(plain)).size
    width, height = Image.open(io.BytesIO(with_reps)).size
    assert width == plain_size[0] and height > plain_size[1]  # a second panel below
