"""Spam: "🚫 Spam" on a card or alert mutes the number's alerts (managers and admins);
where the PBX keeps a black list (MANGO) the bot offers to block the number there too.
``/blocked`` lists the numbers with an Unblock button each, which also takes the number
off the PBX's black list.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.config import Settings
from bot.domain import Role
from bot.formatting import sentence
from bot.pbx.base import Capability, PbxError
from bot.pbx.providers import Providers
from bot.phones import display
from bot.pipeline.notify import Notifier
from bot.services.audit import AuditLog
from bot.services.missed_calls import MissedCalls, NoCallBack
from bot.services.missed_claims import no_call_back
from bot.telegram.callbacks import SpamAction, SpamCallback
from bot.telegram.gates import RequireLink, RequireRole
from bot.telegram.identity import Identity
from bot.texts import Translator

BLOCKED_SHOWN = 20  # numbers one /blocked answer lists


def build_router() -> Router:
    """The spam buttons and ``/blocked``; linked managers and admins."""
    router = Router(name=__name__)
    router.message.middleware(RequireLink())
    router.message.middleware(RequireRole(Role.MANAGER))
    router.callback_query.middleware(RequireLink())
    router.message.register(blocked, Command("blocked"))
    router.callback_query.register(mark_spam, SpamCallback.filter(F.action == SpamAction.MARK))
    router.callback_query.register(block_on_pbx, SpamCallback.filter(F.action == SpamAction.BLOCK))
    router.callback_query.register(unblock, SpamCallback.filter(F.action == SpamAction.UNBLOCK))
    return router


def _allowed(identity: Identity, account: str) -> bool:
    linked = any(link.account == account for link in identity.links)
    return identity.has_role(Role.MANAGER) and (linked or identity.has_role(Role.ADMIN))


async def _refused(query: CallbackQuery, identity: Identity, t: Translator, account: str) -> bool:
    """Answer a press by someone who may not manage ``account``'s spam; True if refused."""
    if _allowed(identity, account):
        return False
    await query.answer(t.label("calls.spam_managers_only"), show_alert=True)
    return True


def _name(identity: Identity) -> str:
    return identity.user.first_name or identity.user.display_name


async def _record(
    audit: AuditLog,
    action: str,
    query: CallbackQuery,
    identity: Identity,
    account: str,
    number: str,
) -> None:
    chat = query.message.chat.id if query.message is not None else None
    await audit.record(
        action, actor=identity.telegram_id, account=account, chat=chat, details={"number": number}
    )


async def mark_spam(
    query: CallbackQuery,
    callback_data: SpamCallback,
    identity: Identity,
    t: Translator,
    missed_calls: MissedCalls,
    notifier: Notifier,
    providers: Providers,
    audit: AuditLog,
) -> None:
    if await _refused(query, identity, t, callback_data.account):
        return
    account, number = callback_data.account, f"+{callback_data.number}"
    now = datetime.now(UTC)
    await missed_calls.mark_spam(account, number, by=_name(identity), at=now)
    await _record(audit, "spam_mark", query, identity, account, number)
    link = next((x for x in identity.links if x.account == account), None)
    for missed in await missed_calls.open_for(account, number):
        await no_call_back(
            missed_calls,
            notifier,
            missed.ref,
            _name(identity),
            link.extension if link else None,
            NoCallBack.SPAM,
            now,
        )
    await query.answer(t.label("calls.spam_marked"))
    provider = providers.get(account)
    if not isinstance(query.message, Message):
        return
    offer = provider is not None and provider.supports(Capability.BLACKLIST)
    markup = None
    if offer and provider is not None:
        data = SpamCallback(action=SpamAction.BLOCK, account=account, number=callback_data.number)
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=t.label("calls.spam_block", pbx=provider.name),
                        callback_data=data.pack(),
                    )
                ]
            ]
        )
    await query.message.reply(
        t("spam_marked", number=display(number), pbx=provider.name if offer and provider else None),
        reply_markup=markup,
    )


async def block_on_pbx(
    query: CallbackQuery,
    callback_data: SpamCallback,
    identity: Identity,
    t: Translator,
    providers: Providers,
    audit: AuditLog,
) -> None:
    if await _refused(query, identity, t, callback_data.account):
        return
    provider = providers.get(callback_data.account)
    number = f"+{callback_data.number}"
    if provider is None or not provider.supports(Capability.BLACKLIST):
        await query.answer(t.label("pbx_errors.unsupported"), show_alert=True)
        return
    try:
        await provider.block_number(number, f"pbxgram: {_name(identity)}")
    except PbxError as exc:
        await query.answer(sentence(t, exc), show_alert=True)
        return
    await _record(audit, "spam_block", query, identity, callback_data.account, number)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(t("spam_blocked", number=display(number), pbx=provider.name))


async def blocked(
    message: Message,
    identity: Identity,
    t: Translator,
    settings: Settings,
    missed_calls: MissedCalls,
) -> None:
    text, markup = await _blocked_list(identity, t, settings, missed_calls)
    await message.answer(text, reply_markup=markup)


async def unblock(
    query: CallbackQuery,
    callback_data: SpamCallback,
    identity: Identity,
    t: Translator,
    settings: Settings,
    missed_calls: MissedCalls,
    providers: Providers,
    audit: AuditLog,
) -> None:
    if await _refused(query, identity, t, callback_data.account):
        return
    number = f"+{callback_data.number}"
    await missed_calls.unmark_spam(callback_data.account, number)
    await _record(audit, "spam_unblock", query, identity, callback_data.account, number)
    provider = providers.get(callback_data.account)
    note = t.label("calls.unblocked", number=display(number))
    if provider is not None and provider.supports(Capability.BLACKLIST):
        try:
            if await provider.unblock_number(number):
                note = t.label("calls.unblocked_on_pbx", number=display(number), pbx=provider.name)
        except PbxError as exc:
            note = f"{note} {sentence(t, exc)}"
    await query.answer()
    if isinstance(query.message, Message):
        text, markup = await _blocked_list(identity, t, settings, missed_calls, note=note)
        await query.message.edit_text(text, reply_markup=markup)


async def _blocked_list(
    identity: Identity,
    t: Translator,
    settings: Settings,
    missed_calls: MissedCalls,
    *,
    note: str | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    accounts = [a.id for a in settings.accounts if _allowed(identity, a.id)]
    entries = [
        (account, mark) for account in accounts for mark in await missed_calls.spam_list(account)
    ]
    shown = entries[:BLOCKED_SHOWN]
    lines = [
        {
            "number": display(mark.number),
            "by": mark.by,
            "at": mark.at.astimezone(settings.zone).strftime("%d.%m %H:%M")
            if mark.at.year > 1970
            else None,
            "account": account if len(accounts) > 1 else None,
        }
        for account, mark in shown
    ]
    buttons = [
        [
            InlineKeyboardButton(
                text=t.label("calls.unblock", number=display(mark.number)),
                callback_data=SpamCallback(
                    action=SpamAction.UNBLOCK, account=account, number=mark.number.lstrip("+")
                ).pack(),
            )
        ]
        for account, mark in shown
    ]
    text = t("blocked_list", numbers=lines, more=len(entries) - len(shown), note=note)
    return text, InlineKeyboardMarkup(inline_keyboard=buttons) if buttons else None
