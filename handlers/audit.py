"""``/audit`` for admins: the audit trail, newest first, ten a page with a button to page
back; ``/audit @username`` or ``/audit <telegram id>`` for one person's actions,
``/audit action:<name>`` for one kind (``action:spam`` takes every ``spam_…``)."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.config import Settings
from bot.domain import Role
from bot.formatting import moment
from bot.services.access import Access
from bot.services.audit import AuditEntry, AuditLog
from bot.telegram.callbacks import AuditCallback
from bot.telegram.gates import RequireRole
from bot.texts import Translator

PAGE = 10
ACTION_NAME = re.compile(r"[a-z0-9_]{1,32}")


def build_router() -> Router:
    """``/audit`` and its page buttons, in private chats; admins only."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.middleware(RequireRole(Role.ADMIN))
    router.callback_query.middleware(RequireRole(Role.ADMIN))
    router.message.register(audit_command, Command("audit"))
    router.callback_query.register(audit_page, AuditCallback.filter())
    return router


async def audit_command(
    message: Message,
    command: CommandObject,
    t: Translator,
    access: Access,
    audit: AuditLog,
    settings: Settings,
) -> None:
    query = AuditCallback()
    target = (command.args or "").strip()
    if target.lower().startswith("action:"):
        name = target[len("action:") :].strip().lower()
        if not ACTION_NAME.fullmatch(name):
            await message.answer(t("audit_usage"))
            return
        query = AuditCallback(action=name)
    elif target:
        if " " in target:
            await message.answer(t("audit_usage"))
            return
        user = await access.find_user(target)
        if user is None and not target.lstrip("-").isdigit():
            await message.answer(t("user_not_found", target=target))
            return
        query = AuditCallback(actor=user.telegram_id if user else int(target))
    text, markup = await _page(query, t, access, audit, settings)
    await message.answer(text, reply_markup=markup)


async def audit_page(
    query: CallbackQuery,
    callback_data: AuditCallback,
    t: Translator,
    access: Access,
    audit: AuditLog,
    settings: Settings,
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    text, markup = await _page(callback_data, t, access, audit, settings)
    try:
        await query.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            raise


async def _page(
    page: AuditCallback, t: Translator, access: Access, audit: AuditLog, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of entries (one more is read to know whether an older page exists)."""
    found = await audit.entries(
        actor=page.actor or None,
        action=page.action or None,
        before=page.before or None,
        limit=PAGE + 1,
    )
    shown = found[:PAGE]
    lines = [await _line(entry, t, access, settings) for entry in shown]
    who = None
    if page.actor:
        user = await access.repos.users.get(page.actor)
        who = user.display_name if user else str(page.actor)
    text = t(
        "audit_list",
        entries=lines,
        who=who,
        actor=page.actor or None,
        action=page.action or None,
        older_page=bool(page.before),
    )
    buttons = []
    if len(found) > PAGE:
        older = AuditCallback(before=shown[-1].id, actor=page.actor, action=page.action)
        buttons.append(
            InlineKeyboardButton(text=t.label("audit.older"), callback_data=older.pack())
        )
    if page.before:
        newest = AuditCallback(actor=page.actor, action=page.action)
        buttons.append(
            InlineKeyboardButton(text=t.label("audit.newest"), callback_data=newest.pack())
        )
    return text, InlineKeyboardMarkup(inline_keyboard=[buttons]) if buttons else None


async def _line(
    entry: AuditEntry, t: Translator, access: Access, settings: Settings
) -> dict[str, object]:
    """What one entry shows: who (name and id), when, what, details, account, chat."""
    if isinstance(entry.actor, int):
        user = await access.repos.users.get(entry.actor)
        name = user.display_name if user else t.label("audit.unknown_person")
    elif entry.actor is None:
        name = t.label("audit.the_bot")
    else:
        name = t.label("audit.command_line") if entry.actor == "cli" else entry.actor
    return {
        "when": moment(entry.at, settings.zone, t.language),
        "who": name,
        "id": entry.actor if isinstance(entry.actor, int) else None,
        "what": _label(t, f"audit.actions.{entry.action}", entry.action),
        "details": [(_label(t, f"audit.details.{k}", k), v) for k, v in entry.details.items()],
        "account": entry.account,
        "chat": entry.chat,
    }


def _label(t: Translator, key: str, fallback: str) -> str:
    try:
        return t.label(key)
    except KeyError:
        return fallback
