"""Balance and outbound-dialing campaigns, for managers and admins.

Managers see the PBX accounts they are linked to, admins every account. A PBX that cannot
do it is named in the answer; a PBX error is told as a sentence. Starting or stopping a
campaign asks first ("Start campaign X? Yes / No" in the same message), then shows the
status the PBX reports. The rules live in :mod:`bot.services.campaigns`.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.config import Account, Settings
from bot.domain import Role
from bot.pbx.base import Capability, Provider
from bot.pbx.providers import Providers
from bot.pbx.registry import pbx_name
from bot.services import campaigns
from bot.services.audit import AuditLog
from bot.services.balance_lookup import balance_entry
from bot.services.campaigns import Outcome, Refused, Section
from bot.services.user_accounts import accounts_of, capable
from bot.telegram.callbacks import CampaignAction, CampaignCallback
from bot.telegram.gates import RequireLink, RequireRole
from bot.telegram.identity import Identity
from bot.telegram.keyboards import campaign_confirm_keyboard, campaign_list_keyboard
from bot.texts import Translator

CHANGES = (CampaignAction.START, CampaignAction.STOP)


def build_router() -> Router:
    """``/balance``, ``/campaigns`` and the campaign buttons; linked managers and admins."""
    router = Router(name=__name__)
    for observer in (router.message, router.callback_query):
        observer.middleware(RequireLink())
        observer.middleware(RequireRole(Role.MANAGER))
    router.message.register(show_balance, Command("balance"))
    router.message.register(list_campaigns, Command("campaigns"))
    router.callback_query.register(
        refresh_campaigns, CampaignCallback.filter(F.action == CampaignAction.REFRESH)
    )
    router.callback_query.register(
        ask_to_confirm, CampaignCallback.filter(F.action.in_(CHANGES) & ~F.confirmed)
    )
    router.callback_query.register(
        confirmed_change, CampaignCallback.filter(F.action.in_(CHANGES) & F.confirmed)
    )
    return router


def _accounts(identity: Identity, settings: Settings) -> list[Account]:
    return accounts_of(settings, identity.links, admin=identity.has_role(Role.ADMIN))


async def show_balance(
    message: Message, identity: Identity, t: Translator, settings: Settings, providers: Providers
) -> None:
    accounts = _accounts(identity, settings)
    if len(accounts) == 1 and capable(providers, accounts[0], Capability.BALANCE) is None:
        await message.answer(t("pbx_unsupported", command="balance", pbx=pbx_name(accounts[0])))
        return
    entries = [await balance_entry(t, settings, providers, account) for account in accounts]
    await message.answer(t("balance_report", entries=entries, show_account=len(entries) > 1))


async def list_campaigns(
    message: Message, identity: Identity, t: Translator, settings: Settings, providers: Providers
) -> None:
    sections = await campaigns.load_sections(t, providers, _accounts(identity, settings))
    text, markup = _render_list(t, sections)
    await message.answer(text, reply_markup=markup)


async def refresh_campaigns(
    query: CallbackQuery,
    identity: Identity,
    t: Translator,
    settings: Settings,
    providers: Providers,
) -> None:
    """Refresh, and No on a confirmation: the list again."""
    if not isinstance(query.message, Message):
        await query.answer()
        return
    sections = await campaigns.load_sections(t, providers, _accounts(identity, settings))
    await _edit(query.message, *_render_list(t, sections))
    await query.answer(t.label("account.notices.refreshed"))


async def ask_to_confirm(
    query: CallbackQuery,
    callback_data: CampaignCallback,
    identity: Identity,
    t: Translator,
    settings: Settings,
    providers: Providers,
) -> None:
    """Start or Stop: turn the list into "Start campaign X? Yes / No", if still allowed."""
    target = await _campaign_target(query, callback_data, identity, t, settings, providers)
    if target is None:
        return
    message, accounts, provider = target
    found = await campaigns.review(
        t, provider, callback_data.account, callback_data.campaign_id, callback_data.action
    )
    if isinstance(found, Refused):
        await query.answer(found.text, show_alert=True)
        if found.stale:
            sections = await campaigns.load_sections(t, providers, accounts)
            await _edit(message, *_render_list(t, sections))
        return
    text = t(
        "campaign_confirm",
        action="start" if callback_data.action is CampaignAction.START else "stop",
        name=found.name,
        status=found.status,
        done=found.done,
        total=found.total,
    )
    markup = campaign_confirm_keyboard(
        t, callback_data.action, callback_data.account, callback_data.campaign_id
    )
    await _edit(message, text, markup)
    await query.answer()


async def confirmed_change(
    query: CallbackQuery,
    callback_data: CampaignCallback,
    identity: Identity,
    t: Translator,
    settings: Settings,
    providers: Providers,
    audit: AuditLog,
) -> None:
    """Yes: start or stop the campaign, then the list with what came of it on top."""
    target = await _campaign_target(query, callback_data, identity, t, settings, providers)
    if target is None:
        return
    message, accounts, provider = target
    sections, outcome = await campaigns.carry_out(
        t,
        providers,
        accounts,
        provider,
        callback_data.action,
        callback_data.account,
        callback_data.campaign_id,
    )
    if outcome.error is None:
        await audit.record(
            f"campaign_{outcome.action}",
            actor=identity.telegram_id,
            account=callback_data.account,
            chat=message.chat.id,
            details={"campaign": callback_data.campaign_id, "name": outcome.name},
        )
    await _edit(message, *_render_list(t, sections, outcome))
    await query.answer()


def _render_list(
    t: Translator, sections: list[Section], outcome: Outcome | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The list message; a lone account whose PBX has no campaigns is told so plainly."""
    if len(sections) == 1 and sections[0].pbx is not None and outcome is None:
        return t("pbx_unsupported", command="campaigns", pbx=sections[0].pbx), None
    text = t("campaign_list", sections=sections, show_account=len(sections) > 1, outcome=outcome)
    return text, campaign_list_keyboard(t, sections)


async def _edit(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the message; an unchanged message is left as it is."""
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            raise


async def _campaign_target(
    query: CallbackQuery,
    callback_data: CampaignCallback,
    identity: Identity,
    t: Translator,
    settings: Settings,
    providers: Providers,
) -> tuple[Message, list[Account], Provider] | None:
    """The message, the presser's accounts and the campaign's provider; None (the press
    answered) when the message is gone or the campaign is not the presser's."""
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return None
    accounts = _accounts(identity, settings)
    provider = campaigns.campaign_provider(providers, accounts, callback_data.account)
    if provider is None:
        await query.answer(t.label("account.notices.not_yours"), show_alert=True)
        return None
    return message, accounts, provider
