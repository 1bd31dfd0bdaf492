"""What a message says about the caller, ready for the templates: who they are, whose
client they are, how often they called lately, and what they chose in the voice menu.

Use :func:`caller_view`, :func:`context_view` and :func:`menu_view` when rendering a card,
an alert, a summary or a list line; each returns None when there is nothing to say.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.accounts import AccountBase
from bot.domain import CallContext, CallerId, CallNote
from bot.texts import Translator

NameOf = Callable[[str | None], Awaitable[str | None]]


async def caller_view(caller: CallerId | None, name_of: NameOf) -> dict[str, Any] | None:
    if caller is None:
        return None
    return {
        "name": caller.name,
        "organisation": caller.organisation,
        "manager": await name_of(caller.manager) if caller.manager else None,
    }


async def context_view(
    t: Translator,
    context: CallContext | None,
    name_of: NameOf,
    zone: ZoneInfo,
    now: datetime,
) -> dict[str, Any] | None:
    if context is None or context.last_at is None:
        return None
    return {
        "calls": context.calls,
        "days": context.days,
        "answered": context.last_answered,
        "by": await name_of(context.last_by) if context.last_by else None,
        "day": day_label(t, context.last_at, zone, now),
        "time": context.last_at.astimezone(zone).strftime("%H:%M"),
        "not_called_back": context.not_called_back,
    }


def day_label(t: Translator, at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """ "today", "yesterday", a weekday within the week, else the date."""
    day, today = at.astimezone(zone).date(), now.astimezone(zone).date()
    ago = (today - day).days
    if ago <= 0:
        return t.label("days.today")
    if ago == 1:
        return t.label("days.yesterday")
    if ago < 7:
        return t.label(f"days.weekday.{day.isoweekday()}")
    return day.strftime("%d.%m")


def menu_view(account: AccountBase | None, digits: str | None) -> str | None:
    """The voice-menu item the caller chose: its name where the account names it."""
    if not digits:
        return None
    names = account.menu if account is not None else {}
    return names.get(digits, digits)


def tag_label(t: Translator, tag: str) -> str:
    """A default tag in the person's language; a company's own tag as written."""
    try:
        return t.label(f"tags.{tag}")
    except KeyError:
        return tag


def notes_view(t: Translator, notes: list[CallNote], tags: list[str]) -> dict[str, Any]:
    """The notes (author and text) and outcome tags of a call, for the templates."""
    return {
        "notes": [{"author": note.author, "text": note.text} for note in notes],
        "tags": [tag_label(t, tag) for tag in tags],
    }
