"""The report in words (both languages, within Telegram's limits) and the chart as a PNG."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from bot.domain import Language
from bot.events import Direction
from bot.reports import Period, Report, count
from bot.reports.chart import ChartText, draw_chart, render_chart
from bot.reports.report import MESSAGE_LIMIT, chart_text, duration, report_chart, report_text
from bot.services.call_log import LoggedCall
from bot.telegram.sender import caption_fits, visible_length
from bot.texts import Texts
from tests.reports.test_figures import MORNING, MOSCOW, _call, _day

TEXTS = Texts()
NAMES = {"101": "Anna Petrova", "102": "Boris Ivanov", "103": "Maria Smirnova"}


def _report(calls: list[LoggedCall], period: Period | None = None) -> Report:
    period = period or Period.today(MORNING, MOSCOW)
    figures = count(calls, period, open_missed={c.ref for c in calls if c.call_id == "in-4"})
    return Report("main", figures, NAMES)


def test_english_report_shows_the_numbers_and_the_table() -> None:
    text = report_text(_report(_day()), TEXTS.bind(Language.EN))
    assert text == (
        "📊 <b>Calls today, 11 June</b>\n"
        "⬇️ Inbound: <b>5</b> · answered 2 · missed 3\n"
        "↩️ Missed and not called back yet: <b>1</b>\n"
        "⬆️ Outbound: <b>2</b> · answered 1\n"
        "↔️ Internal: 1\n"
        "⏱ Average wait for an answer: 0:16\n"
        "<pre>Employee        Calls  Answ.     Talk\n"
        "Anna Petrova        5      2     1:15\n"
        "Boris Ivanov        3      1     1:30\n"
        "Maria Smirnova      2      1     0:15\n"
        "</pre>"
    )


def test_russian_digest_heading_and_week_heading() -> None:
    ru = TEXTS.bind(Language.RU)
    digest = report_text(_report(_day()), ru, digest=True)
    assert digest.startswith("📊 <b>Итоги дня, 11 июня</b>\n⬇️ Входящие: <b>5</b> · отвечено 2")
    assert "↩️ Из пропущенных ещё не перезвонили: <b>1</b>" in digest
    assert "<pre>Сотрудник      Звонки Отвеч. Разговор\n" in digest
    week = report_text(_report(_day(), Period.week(MORNING, MOSCOW)), ru)
    assert week.startswith("📊 <b>Звонки, 5 июня – 11 июня</b>\n")


def test_no_calls_says_so() -> None:
    empty = _report([])
    assert report_text(empty, TEXTS.bind(Language.EN)) == (
        "📊 <b>Calls today, 11 June</b>\nNo calls today."
    )
    assert (
        report_text(_report([], Period.week(MORNING, MOSCOW)), TEXTS.bind(Language.RU))
        == "📊 <b>Звонки, 5 июня – 11 июня</b>\nЗа эти семь дней звонков не было."
    )


def test_names_are_escaped_and_shortened() -> None:
    report = Report(
        "main",
        count(_day(), Period.today(MORNING, MOSCOW), set()),
        {"101": "<b>Anna</b> & Co", "102": "Boris Ivanovich Konstantinopolsky"},
    )
    text = report_text(report, TEXTS.bind(Language.EN))
    assert "&lt;b&gt;Anna&lt;/b&gt; &amp; Co" in text
    assert "Boris Ivanovich K…      3" in text
    assert "\n103 " in text  # no name known: the extension


def test_a_big_company_table_is_cut_to_one_message() -> None:
    calls = [
        _call(f"c{n}", Direction.INBOUND, answered_by=str(200 + n), talk=60 + n) for n in range(300)
    ]
    report = Report("main", count(calls, Period.today(MORNING, MOSCOW), set()), {})
    text = report_text(report, TEXTS.bind(Language.EN))
    assert visible_length(text) <= MESSAGE_LIMIT
    assert not caption_fits(text)
    shown = text.count("\n2") + text.count("\n3") + text.count("\n4")
    assert 50 < shown < 300
    assert text.endswith(f"…and {300 - shown} more")


def test_caption_length_is_counted_as_telegram_does() -> None:
    assert caption_fits("<b>" + "a" * 1024 + "</b>")
    assert not caption_fits("a" * 1025)
    assert visible_length("😀 &amp;") == 4  # an emoji is two UTF-16 units
    assert caption_fits(report_text(_report(_day()), TEXTS.bind(Language.RU)))


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0:00"), (42, "0:42"), (725, "12:05"), (3723, "1:02:03")]
)
def test_durations(seconds: int, shown: str) -> None:
    assert duration(seconds) == shown


ANSWERED = (0x2E, 0x9E, 0x5B)
MISSED = (0xD6, 0x45, 0x41)


def _pixels(png: bytes) -> dict[tuple[int, ...], int]:
    """How many pixels of each colour the decoded PNG has."""
    image = Image.open(io.BytesIO(png))
    image.load()  # decodes every pixel
    counted = image.convert("RGB").getcolors(1_000_000) or []
    return {tuple(colour): n for n, colour in counted if isinstance(colour, tuple)}


async def test_chart_is_a_png_of_the_day() -> None:
    report = _report(_day())
    png = await report_chart(report, TEXTS.bind(Language.RU))
    assert png is not None
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (1000, 450))
    words = chart_text(report.figures.period, TEXTS.bind(Language.RU))
    legend_only = _pixels(draw_chart(words, (0,) * 24, (0,) * 24))
    drawn = _pixels(png)
    assert drawn[ANSWERED] > legend_only[ANSWERED] + 500  # bars, not just the legend
    assert drawn[MISSED] > legend_only[MISSED] + 500


async def test_no_calls_no_chart() -> None:
    assert await report_chart(_report([]), TEXTS.bind(Language.EN)) is None


def test_chart_words_follow_the_language_and_period() -> None:
    week = Period.week(MORNING, MOSCOW)
    ru = chart_text(week, TEXTS.bind(Language.RU))
    assert ru.title == "Звонки по дням · 5 июня – 11 июня"
    assert ru.ticks[0] == "Чт\n05.06"
    assert ru.ticks[-1] == "Ср\n11.06"
    en = chart_text(Period.today(MORNING, MOSCOW), TEXTS.bind(Language.EN))
    assert (en.title, en.answered, en.missed) == ("Calls per hour · 11 June", "Answered", "Missed")
    assert en.ticks == tuple(str(hour) for hour in range(24))


async def test_week_chart_draws_missed_only_days() -> None:
    words = chart_text(Period.week(MORNING, MOSCOW), TEXTS.bind(Language.EN))
    legend_only = _pixels(draw_chart(words, (0,) * 7, (0,) * 7))
    drawn = _pixels(await render_chart(words, (0,) * 7, (0, 2, 0, 0, 0, 0, 1)))
    assert drawn[MISSED] > legend_only[MISSED] + 500
    assert drawn[ANSWERED] == legend_only[ANSWERED]


def test_chart_needs_one_count_per_tick() -> None:
    words = ChartText("t", "x", "y", "a", "m", ticks=("0", "1"))
    with pytest.raises(ValueError, match="per bucket"):
        draw_chart(words, (1,), (0,))


def test_late_calls_of_the_day_land_in_their_local_hour() -> None:
    late = MORNING.replace(hour=20, minute=59) + timedelta(seconds=30)  # 23:59 in Moscow
    figures = count(
        [_call("late", Direction.INBOUND, answered_by="101", at=late)],
        Period.today(MORNING, MOSCOW),
        set(),
    )
    assert figures.answered_by_bucket[23] == 1
