"""Formatting shared by every message: money, moments, talk time, and the sentence that
says why a PBX request failed. Use these rather than formatting figures in place.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.domain import Language
from bot.pbx.base import PbxError
from bot.texts import Translator

FALLBACK_REASON = "pbx_errors.failed"
CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "GBP": "£", "KZT": "₸", "BYN": "Br"}
EN_PREFIX_SIGNS = {"USD", "EUR", "GBP"}
NBSP = "\u00a0"
MONTHS = {
    Language.EN: (
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "May",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
    ),
    Language.RU: (
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ),
}


def money(amount: Decimal, currency: str, language: Language) -> str:
    """``1 234,50 ₽`` in Russian, ``RUB 1,234.50`` (``$1,234.50``) in English."""
    grouped = f"{abs(amount):,.2f}"
    sign = "-" if amount < 0 else ""
    code = currency.upper()
    if language is Language.RU:
        number = grouped.replace(",", NBSP).replace(".", ",")
        return f"{sign}{number}{NBSP}{CURRENCY_SIGNS.get(code, code)}"
    if code in EN_PREFIX_SIGNS:
        return f"{sign}{CURRENCY_SIGNS[code]}{grouped}"
    return f"{code}{NBSP}{sign}{grouped}"


def moment(at: datetime, zone: ZoneInfo, language: Language) -> str:
    """``24 января 2019, 17:55`` / ``24 Jan 2019, 17:55`` in the time zone people read."""
    local = at.astimezone(zone)
    month = MONTHS[language][local.month - 1]
    return f"{local.day} {month} {local.year}, {local:%H:%M}"


def reason(t: Translator, message_key: str, **params: object) -> str:
    """The sentence for a ``message_key``; a general one when the key has no text."""
    try:
        return t.label(message_key, **params)
    except (KeyError, IndexError):  # no such label, or one asking for other parameters
        return t.label(FALLBACK_REASON)


def sentence(t: Translator, error: PbxError) -> str:
    """What went wrong with a PBX request, in one sentence of the person's language."""
    return reason(t, error.message_key, **error.params)


def duration(seconds: int) -> str:
    """Talk time as people read it: ``1:05``."""
    minutes, rest = divmod(max(0, seconds), 60)
    return f"{minutes}:{rest:02d}"
