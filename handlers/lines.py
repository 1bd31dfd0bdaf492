"""``/line``: the line calls placed from Telegram go out on, where the PBX lets a call
choose it (MANGO). Lists the account's incoming lines with a button each, the chosen one
ticked, and "PBX default".
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.config import Settings
from bot.domain import Link, PbxLine
from bot.formatting import sentence
from bot.pbx.base import Capability, PbxError
from bot.pbx.providers import Providers
from bot.pbx.registry import pbx_name
from bot.phones import display
from bot.services.outgoing_lines import OutgoingLines
from bot.telegram.gates import RequireLink
from bot.telegram.identity import Identity
from bot.texts import Translator

DEFAULT = "-"  # the "PBX default" button's line


class LineCallback(CallbackData, prefix="ln"):
    """A line button: ``line`` is the PBX number (digits), or "-" for the PBX's default."""

    account: str
    line: str


def build_router() -> Router:
    """``/line`` and its buttons; linked people only."""
    router = Router(name=__name__)
    router.message.middleware(RequireLink())
    router.callback_query.middleware(RequireLink())
    router.message.register(show_lines, Command("line"))
    router.callback_query.register(choose_line, LineCallback.filter())
    return router


async def show_lines(
    message: Message,
    identity: Identity,
    t: Translator,
    settings: Settings,
    providers: Providers,
    outgoing_lines: OutgoingLines,
) -> None:
    link = identity.links[0]
    text, markup = await _lines_message(t, link, settings, providers, outgoing_lines)
    await message.answer(text, reply_markup=markup)


async def choose_line(
    query: CallbackQuery,
    callback_data: LineCallback,
    identity: Identity,
    t: Translator,
    settings: Settings,
    providers: Providers,
    outgoing_lines: OutgoingLines,
) -> None:
    link = next((x for x in identity.links if x.account == callback_data.account), None)
    if link is None:
        await query.answer(t.label("calls.not_linked_here"), show_alert=True)
        return
    line = None if callback_data.line == DEFAULT else callback_data.line
    await outgoing_lines.choose(link, line)
    await query.answer(t.label("lines.chosen"))
    if isinstance(query.message, Message):
        text, markup = await _lines_message(t, link, settings, providers, outgoing_lines)
        await query.message.edit_text(text, reply_markup=markup)


async def _lines_message(
    t: Translator,
    link: Link,
    settings: Settings,
    providers: Providers,
    outgoing_lines: OutgoingLines,
) -> tuple[str, InlineKeyboardMarkup | None]:
    provider = providers.get(link.account)
    account = settings.account(link.account)
    if provider is None or not provider.supports(Capability.OUTGOING_LINE):
        return t("pbx_unsupported", command="line", pbx=pbx_name(account)), None
    try:
        lines: list[PbxLine] = await provider.list_lines()
    except PbxError as exc:
        return sentence(t, exc), None
    chosen = await outgoing_lines.chosen(link)
    rows = [
        [
            InlineKeyboardButton(
                text=("✓ " if line.number == chosen else "")
                + display(line.number)
                + (f" · {line.name}" if line.name else ""),
                callback_data=LineCallback(account=link.account, line=line.number).pack(),
            )
        ]
        for line in lines
    ]
    rows.append(
        [
            InlineKeyboardButton(
                text=("✓ " if chosen is None else "") + t.label("lines.default"),
                callback_data=LineCallback(account=link.account, line=DEFAULT).pack(),
            )
        ]
    )
    shown = display(chosen) if chosen else None
    return t("lines_list", chosen=shown, count=len(lines)), InlineKeyboardMarkup(
        inline_keyboard=rows
    )
