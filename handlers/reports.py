"""Call reports: ``/report [today|week]`` for managers and admins, for their account."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bot.config import Settings
from bot.domain import Role
from bot.pipeline.notify import Notifier
from bot.reports import Period, PeriodKind, Reports
from bot.reports.report import CHART_FILENAME
from bot.services.call_log import CallLog
from bot.services.missed_calls import MissedCalls
from bot.telegram.gates import RequireLink, RequireRole
from bot.telegram.identity import Identity
from bot.telegram.sender import caption_fits
from bot.texts import Translator

PERIOD_WORDS = {
    "": PeriodKind.TODAY,
    "today": PeriodKind.TODAY,
    "сегодня": PeriodKind.TODAY,
    "week": PeriodKind.WEEK,
    "неделя": PeriodKind.WEEK,
}


def build_router() -> Router:
    """``/report``; linked managers and admins only."""
    router = Router(name=__name__)
    router.message.middleware(RequireLink())
    router.message.middleware(RequireRole(Role.MANAGER))
    router.message.register(report, Command("report"))
    return router


async def report(
    message: Message,
    command: CommandObject,
    identity: Identity,
    t: Translator,
    settings: Settings,
    call_log: CallLog,
    missed_calls: MissedCalls,
    notifier: Notifier,
) -> None:
    """The report in words and, when there were calls, the chart; as one photo if it fits."""
    kind = PERIOD_WORDS.get((command.args or "").strip().lower())
    if kind is None:
        await message.answer(t("report_usage"))
        return
    now = datetime.now(UTC)
    period = (
        Period.today(now, settings.zone)
        if kind is PeriodKind.TODAY
        else Period.week(now, settings.zone)
    )
    reports = Reports(call_log, missed_calls, notifier)
    rendered = await reports.render(await reports.collect(identity.links[0].account, period), t)
    if rendered.chart is None:
        await message.answer(rendered.text)
        return
    photo = BufferedInputFile(rendered.chart, filename=CHART_FILENAME)
    if caption_fits(rendered.text):
        await message.answer_photo(photo, caption=rendered.text)
    else:
        await message.answer_photo(photo)
        await message.answer(rendered.text)
