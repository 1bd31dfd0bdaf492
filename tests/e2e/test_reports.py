"""Reports as people see them: /report for managers, the daily digest in group chats."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest_asyncio
from redis.asyncio import Redis

from bot.app import App, running
from bot.config import Settings
from bot.domain import Role, SubscriptionKind
from bot.reports.chart import ChartText, draw_chart
from bot.reports.digest import DailyDigest, DigestTiming
from bot.telegram.outbox import OutMessage, Priority
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.conftest import MANGO_ACCOUNT
from tests.e2e.conftest import ADMIN, FAST, GROUP, LINE, REP_ANNA, STRANGER, drained

BORIS = 2002
MARIA = 2003  # manager
CLIENT = "79001234567"
CLIENT_2 = "79002223344"
CLIENT_3 = "79003334455"
ZONE = ZoneInfo("Europe/Moscow")

# What the played calls add up to: three inbound (one answered by Boris, two missed, of
# which Anna called one back) and Anna's call back; each talk lasts 30 s, each answered
# inbound caller waited 8 s in the voice menu and 5 s ringing.
NUMBERS_EN = [
    "⬇️ Inbound: 3 · answered 1 · missed 2",
    "↩️ Missed and not called back yet: 1",
    "📞 Called back: 1 · median M:SS · 90% within M:SS",
    "    Anna Petrova: 1 · median M:SS",
    "⬆️ Outbound: 1 · answered 1",
    "⏱ Average wait for an answer: 0:13",
    "Employee      Calls  Answ.     Talk",
    "Anna Petrova      4      1     0:30",
    "Boris Ivanov      3      1     0:30",
]
NUMBERS_RU = [
    "⬇️ Входящие: 3 · отвечено 1 · пропущено 2",
    "↩️ Из пропущенных ещё не перезвонили: 1",
    "📞 Перезвонили: 1 · медиана M:SS · 90% за M:SS",
    "    Anna Petrova: 1 · медиана M:SS",
    "⬆️ Исходящие: 1 · дозвонились 1",
    "⏱ Среднее ожидание ответа: 0:13",
    "Сотрудник    Звонки Отвеч. Разговор",
    "Anna Petrova      4      1     0:30",
    "Boris Ivanov      3      1     0:30",
]


def _timeless(text: str) -> list[str]:
    """The report's lines, the time to call back masked: it is however long the test took
    between the missed call and the call back (a few seconds)."""
    lines = text.splitlines()
    return [
        re.sub(r"\b\d:\d\d\b", "M:SS", line)
        if "📞" in line or "median" in line or "медиана" in line
        else line
        for line in lines
    ]


class Clock:
    """The digest job's clock, moved by the test."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def set_local(self, day: datetime, clock: time) -> None:
        self.moment = datetime.combine(day.date(), clock, ZONE)


Launcher = Callable[[Clock], Any]


@pytest_asyncio.fixture
async def launch(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    make_settings: Callable[..., Settings],
    redis: Redis,  # an empty database for every test
) -> AsyncIterator[Launcher]:
    """Start the app with the digest job reading ``clock``; use as ``async with``."""
    emulator.add_user(BORIS, "Boris", username="boris", language_code="en")
    emulator.add_user(MARIA, "Maria", username="maria", language_code="en")
    settings = make_settings(
        bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        admin_ids=[ADMIN],
        accounts=[{**MANGO_ACCOUNT, "api_url": mango.base_url}],
        timezone="Europe/Moscow",
        digest_time="19:00",
    )

    @asynccontextmanager
    async def start(clock: Clock) -> AsyncIterator[App]:
        tuning = replace(FAST, digest=DigestTiming(clock=clock.now, poll_seconds=0.05))
        async with running(settings, web_role=True, worker_role=True, tuning=tuning) as app:
            mango.webhook_url = f"{app.web_url}/pbx/main"
            yield app

    yield start


def _digest(app: App) -> DailyDigest:
    """The digest as another replica of ``app`` would build it."""
    return DailyDigest(
        settings=app.settings,
        redis=app.redis,
        keys=app.keys,
        subscriptions=app.repos.subscriptions,
        outbox=app.outbox,
        notifier=app.notifier,
        call_log=app.call_log,
    )


async def _staff(emulator: TelegramEmulator, app: App) -> None:
    for person in (REP_ANNA, BORIS, MARIA):  # everyone has opened the bot once
        emulator.send_text(person, "/start")
        await emulator.wait_for_message(person)
    await app.access.link("main", "101", REP_ANNA, Role.REP)
    await app.access.link("main", "102", BORIS, Role.REP)
    await app.access.link("main", "103", MARIA, Role.MANAGER)


async def _play_the_day(mango: MangoSimulator, app: App) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="102")
    await mango.play_inbound(LINE, CLIENT_2, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.play_inbound(LINE, CLIENT_3, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(app)
    await mango.play_callback("101", CLIENT_2)
    await mango.wait_idle()
    await drained(app)


def _photos(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    return [m for m in emulator.bot_messages(chat) if m.file and m.file["kind"] == "photo"]


def _is_png_chart(message: ChatMessage) -> bool:
    assert message.file is not None
    size: int = message.file["size"]
    return bool(message.file["mime"] == "image/png" and 5_000 < size < 200_000)


def _today() -> datetime:
    return datetime.now(ZONE)


def _day_label(day: datetime, months: list[str]) -> str:
    return f"{day.day} {months[day.month - 1]}"


EN_MONTHS = "January February March April May June July August September October November December"
RU_MONTHS = "января февраля марта апреля мая июня июля августа сентября октября ноября декабря"


async def test_manager_gets_todays_report_with_the_chart(
    emulator: TelegramEmulator, mango: MangoSimulator, launch: Launcher
) -> None:
    async with launch(Clock(_today().replace(hour=0, minute=0))) as app:
        await _staff(emulator, app)
        await _play_the_day(mango, app)

        emulator.send_text(MARIA, "/report today")
        report = await emulator.wait_for_message(MARIA, lambda m: "Calls today" in m.text)
        today = _today()
        assert _timeless(report.text) == [
            f"📊 Calls today, {_day_label(today, EN_MONTHS.split())}",
            *NUMBERS_EN,
        ]
        assert report.file is not None
        assert report.file["kind"] == "photo"
        assert _is_png_chart(report), report.file

        emulator.send_text(MARIA, "/report week")
        week = await emulator.wait_for_message(MARIA, lambda m: "📊 Calls," in m.text)
        first = _day_label(today - timedelta(days=6), EN_MONTHS.split())
        assert _timeless(week.text) == [
            f"📊 Calls, {first} – {_day_label(today, EN_MONTHS.split())}",
            *NUMBERS_EN,
        ]
        assert week.file is not None
        assert _is_png_chart(week)

        emulator.send_text(MARIA, "/report month")
        usage = await emulator.wait_for_message(MARIA, lambda m: m.text.startswith("Usage"))
        assert usage.text == (
            "Usage: /report or /report today for today's calls, "
            "/report week for the last seven days."
        )
        assert len(_photos(emulator, MARIA)) == 2


async def test_reps_and_unlinked_people_are_refused(
    emulator: TelegramEmulator, mango: MangoSimulator, launch: Launcher
) -> None:
    async with launch(Clock(_today().replace(hour=0, minute=0))) as app:
        await _staff(emulator, app)
        await _play_the_day(mango, app)

        emulator.send_text(REP_ANNA, "/report")
        refused = await emulator.wait_for_message(REP_ANNA, lambda m: "ролью" in m.text)
        assert refused.text == "Эта команда доступна только с ролью «руководитель»."
        emulator.send_text(STRANGER, "/report week")
        unlinked = await emulator.wait_for_message(STRANGER, lambda m: "linked" in m.text)
        assert unlinked.text.startswith("This command works once you are linked")
        emulator.send_text(ADMIN, "/report")  # an admin, but not linked to any extension
        await emulator.wait_for_message(ADMIN, lambda m: "linked" in m.text)
        await drained(app)
        for person in (REP_ANNA, STRANGER, ADMIN):
            assert _photos(emulator, person) == [], person
            assert not [m for m in emulator.bot_messages(person) if "📊" in m.text], person


async def test_digest_reaches_the_group_once_a_day(
    emulator: TelegramEmulator, mango: MangoSimulator, launch: Launcher
) -> None:
    today = _today()
    clock = Clock(datetime.combine(today.date(), time(0, 0), ZONE))
    heading = f"📊 Итоги дня, {_day_label(today, RU_MONTHS.split())}"
    async with launch(clock) as app:
        await _staff(emulator, app)
        await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.DIGEST)
        emulator.add_bot_to_group(GROUP, ADMIN)
        await _play_the_day(mango, app)
        digest = _digest(app)
        assert await digest.send_due(clock.now()) == 0  # before 19:00 nothing is due
        await drained(app)
        assert [m for m in emulator.bot_messages(GROUP) if "Итоги" in m.text] == []

        clock.set_local(today, time(19, 0))
        sent = await emulator.wait_for_message(GROUP, lambda m: "Итоги дня" in m.text)
        assert _timeless(sent.text) == [heading, *NUMBERS_RU]
        assert sent.file is not None
        assert sent.file["kind"] == "photo"
        assert _is_png_chart(sent)
        # other replicas looking at the same clock find the day's digest taken
        assert await asyncio.gather(*(digest.send_due(clock.now()) for _ in range(5))) == [0] * 5
        await drained(app)

    async with launch(clock) as restarted:
        assert await _digest(restarted).send_due(clock.now()) == 0
        await drained(restarted)
        digests = [m for m in emulator.bot_messages(GROUP) if "Итоги дня" in m.text]
        assert [m.message_id for m in digests] == [sent.message_id]
        assert len(_photos(emulator, GROUP)) == 1

        tomorrow = today + timedelta(days=1)
        clock.set_local(tomorrow, time(19, 30))
        quiet = await emulator.wait_for_message(
            GROUP, lambda m: _day_label(tomorrow, RU_MONTHS.split()) in m.text
        )
        assert quiet.text == (
            f"📊 Итоги дня, {_day_label(tomorrow, RU_MONTHS.split())}\nСегодня звонков не было."
        )
        assert quiet.file is None  # nothing to draw


async def test_a_text_too_long_for_a_caption_follows_the_photo(
    emulator: TelegramEmulator, launch: Launcher
) -> None:
    async with launch(Clock(_today().replace(hour=0, minute=0))) as app:
        await _staff(emulator, app)
        png = draw_chart(ChartText("t", "x", "y", "a", "m", ("0",)), (1,), (0,))
        photo = await app.outbox.store_photo(png, "calls.png")
        long_text = "<b>Report</b>\n" + "\n".join(f"line {n:04d} " + "x" * 40 for n in range(40))
        await app.outbox.put(
            "report-long", OutMessage(chat_id=MARIA, text=long_text, photo=photo), Priority.DIGEST
        )
        await app.outbox.put(
            "report-short",
            OutMessage(chat_id=BORIS, text="<b>Short</b>", photo=photo),
            Priority.DIGEST,
        )
        await drained(app)
        *_, picture, words = emulator.bot_messages(MARIA)
        assert picture.file is not None
        assert picture.file == {**picture.file, "kind": "photo", "name": "calls.png"}
        assert picture.file["size"] == len(png)
        assert picture.text == ""
        assert words.file is None
        assert words.text.startswith("Report\nline 0000 ")
        assert words.text.endswith("line 0039 " + "x" * 40)
        *_, short = emulator.bot_messages(BORIS)
        assert short.text == "Short"
        assert short.file is not None
        assert short.file["size"] == len(png)

        await app.redis.delete(app.keys.outbox_file(photo.sha256))  # kept past the picture
        await app.outbox.put(
            "report-late",
            OutMessage(chat_id=BORIS, text="<b>Late</b>", photo=photo),
            Priority.DIGEST,
        )
        await drained(app)
        *_, late = emulator.bot_messages(BORIS)
        assert (late.text, late.file) == ("Late", None)
