"""Balance and outbound-dialing campaigns, for managers and admins.

Managers see the PBX accounts they are linked to, admins every account. A PBX that cannot
do it is named in the answer; a PBX error is told as a sentence. Starting or stopping a
campaign asks first ("Start campaign X? Yes / No" in the same message), then shows the
status the PBX reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.config import Account, Settings
from bot.domain import Campaign, CampaignStatus, Role
from bot.pbx.base import Capability, PbxError, Provider
from bot.pbx.registry import Providers, pbx_name
from bot.pipeline.balance import moment, money
from bot.pipeline.commands import sentence
from bot.telegram.callbacks import CampaignAction, CampaignCallback
from bot.telegram.gates import RequireLink, RequireRole
from bot.telegram.identity import Identity
from bot.texts import Translator

STARTABLE = frozenset({CampaignStatus.STOPPED})
STOPPABLE = frozenset({CampaignStatus.PLANNED, CampaignStatus.RUNNING})
BUTTON_NAME_LENGTH = 28


def build_router() -> Router:
    """``/balance``, ``/campaigns`` and the campaign buttons; linked managers and admins."""
    router = Router(name=__name__)
    for observer in (router.message, router.callback_query):
        observer.middleware(RequireLink())
        observer.middleware(RequireRole(Role.MANAGER))
    router.message.register(show_balance, Command("balance"))
    router.message.register(list_campaigns, Command("campaigns"))
    router.callback_query.register(campaign_button, CampaignCallback.filter())
    return router


def accounts_of(identity: Identity, settings: Settings) -> list[Account]:
    """The accounts this person may look after: every one for admins, else the linked ones."""
    if identity.has_role(Role.ADMIN):
        return list(settings.accounts)
    linked = {link.account for link in identity.links}
    return [account for account in settings.accounts if account.id in linked]


def capable(providers: Providers, account: Account, capability: Capability) -> Provider | None:
    provider = providers.get(account.id)
    return provider if provider is not None and provider.supports(capability) else None


# /balance ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BalanceEntry:
    """One account's line in the /balance answer: figures, an error, or the PBX's name."""

    account: str
    amount: str = ""
    at: str = ""
    threshold: str | None = None
    low: bool = False
    error: str | None = None
    pbx: str | None = None


async def show_balance(
    message: Message, identity: Identity, t: Translator, settings: Settings, providers: Providers
) -> None:
    accounts = accounts_of(identity, settings)
    if len(accounts) == 1 and capable(providers, accounts[0], Capability.BALANCE) is None:
        await message.answer(t("pbx_unsupported", command="balance", pbx=pbx_name(accounts[0])))
        return
    entries = [await balance_entry(t, settings, providers, account) for account in accounts]
    await message.answer(t("balance_report", entries=entries, show_account=len(entries) > 1))


async def balance_entry(
    t: Translator, settings: Settings, providers: Providers, account: Account
) -> BalanceEntry:
    provider = capable(providers, account, Capability.BALANCE)
    if provider is None:
        return BalanceEntry(account.id, pbx=pbx_name(account))
    try:
        balance = await provider.balance()
    except PbxError as exc:
        return BalanceEntry(account.id, error=sentence(t, exc))
    below = account.balance_alert_below
    threshold = Decimal(str(below)) if below is not None else None
    return BalanceEntry(
        account.id,
        amount=money(balance.amount, balance.currency, t.language),
        at=moment(balance.at, settings.zone, t.language),
        threshold=money(threshold, balance.currency, t.language) if threshold is not None else None,
        low=threshold is not None and balance.amount < threshold,
    )


# /campaigns ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CampaignRow:
    """A campaign as listed, with the one action its state allows (if any)."""

    account: str
    id: str
    name: str
    status: str
    done: int | None
    total: int | None
    action: CampaignAction | None


@dataclass(frozen=True)
class Section:
    """One account's campaigns, or why they cannot be shown."""

    account: str
    campaigns: list[CampaignRow] = field(default_factory=list)
    error: str | None = None
    pbx: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a confirmed Start or Stop came to, shown above the list."""

    action: str  # "start" | "stop"
    name: str
    status: str = ""
    error: str | None = None


def allowed_action(campaign: Campaign) -> CampaignAction | None:
    if campaign.status in STARTABLE:
        return CampaignAction.START
    if campaign.status in STOPPABLE:
        return CampaignAction.STOP
    return None


def status_label(t: Translator, status: CampaignStatus) -> str:
    return t.label(f"account.status.{status.value}")


def campaign_row(t: Translator, account: str, campaign: Campaign) -> CampaignRow:
    return CampaignRow(
        account=account,
        id=campaign.id,
        name=campaign.name or campaign.id,
        status=status_label(t, campaign.status),
        done=campaign.tasks_done,
        total=campaign.tasks_total,
        action=allowed_action(campaign),
    )


async def load_section(t: Translator, providers: Providers, account: Account) -> Section:
    provider = capable(providers, account, Capability.CAMPAIGNS)
    if provider is None:
        return Section(account.id, pbx=pbx_name(account))
    try:
        campaigns = await provider.campaigns()
    except PbxError as exc:
        return Section(account.id, error=sentence(t, exc))
    return Section(account.id, campaigns=[campaign_row(t, account.id, c) for c in campaigns])


def short(name: str) -> str:
    if len(name) <= BUTTON_NAME_LENGTH:
        return name
    return name[: BUTTON_NAME_LENGTH - 1].rstrip() + "…"


def list_keyboard(t: Translator, sections: list[Section]) -> InlineKeyboardMarkup:
    """A Start or Stop button per campaign (as its state allows), then Refresh."""
    rows: list[list[InlineKeyboardButton]] = []
    for section in sections:
        for row in section.campaigns:
            if row.action is None:
                continue
            start = row.action is CampaignAction.START
            label = "account.buttons.start" if start else "account.buttons.stop"
            data = CampaignCallback(action=row.action, account=row.account, campaign_id=row.id)
            rows.append(
                [
                    InlineKeyboardButton(
                        text=t.label(label, name=short(row.name)), callback_data=data.pack()
                    )
                ]
            )
    refresh = CampaignCallback(action=CampaignAction.REFRESH)
    rows.append(
        [
            InlineKeyboardButton(
                text=t.label("account.buttons.refresh"), callback_data=refresh.pack()
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def render_list(
    t: Translator, sections: list[Section], outcome: Outcome | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The list message; a lone account whose PBX has no campaigns is told so plainly."""
    if len(sections) == 1 and sections[0].pbx is not None and outcome is None:
        return t("pbx_unsupported", command="campaigns", pbx=sections[0].pbx), None
    text = t("campaign_list", sections=sections, show_account=len(sections) > 1, outcome=outcome)
    return text, list_keyboard(t, sections)


async def campaign_list(
    t: Translator, accounts: list[Account], providers: Providers, outcome: Outcome | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    sections = [await load_section(t, providers, account) for account in accounts]
    return render_list(t, sections, outcome)


async def list_campaigns(
    message: Message, identity: Identity, t: Translator, settings: Settings, providers: Providers
) -> None:
    text, markup = await campaign_list(t, accounts_of(identity, settings), providers)
    await message.answer(text, reply_markup=markup)


async def campaign_button(
    query: CallbackQuery,
    callback_data: CampaignCallback,
    identity: Identity,
    t: Translator,
    settings: Settings,
    providers: Providers,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    accounts = accounts_of(identity, settings)
    if callback_data.action is CampaignAction.REFRESH:
        await edit(message, *await campaign_list(t, accounts, providers))
        await query.answer(t.label("account.notices.refreshed"))
        return
    account = next((a for a in accounts if a.id == callback_data.account), None)
    provider = capable(providers, account, Capability.CAMPAIGNS) if account else None
    if account is None or provider is None:
        await query.answer(t.label("account.notices.not_yours"), show_alert=True)
        return
    if callback_data.confirmed:
        await carry_out(query, message, callback_data, t, accounts, providers, provider)
    else:
        await ask(query, message, callback_data, t, accounts, providers, provider)


async def ask(
    query: CallbackQuery,
    message: Message,
    data: CampaignCallback,
    t: Translator,
    accounts: list[Account],
    providers: Providers,
    provider: Provider,
) -> None:
    """Turn the list into "Start campaign X? Yes / No", if the campaign still allows it."""
    try:
        campaigns = await provider.campaigns()
    except PbxError as exc:
        await query.answer(sentence(t, exc), show_alert=True)
        return
    campaign = next((c for c in campaigns if c.id == data.campaign_id), None)
    if campaign is None or allowed_action(campaign) is not data.action:
        if campaign is None:
            notice = "account.notices.gone"
        elif data.action is CampaignAction.START:
            notice = "account.notices.cannot_start"
        else:
            notice = "account.notices.cannot_stop"
        await query.answer(t.label(notice), show_alert=True)
        await edit(message, *await campaign_list(t, accounts, providers))
        return
    row = campaign_row(t, data.account, campaign)
    action = "start" if data.action is CampaignAction.START else "stop"
    text = t(
        "campaign_confirm",
        action=action,
        name=row.name,
        status=row.status,
        done=row.done,
        total=row.total,
    )
    yes = CampaignCallback(
        action=data.action, confirmed=True, account=data.account, campaign_id=data.campaign_id
    )
    no = CampaignCallback(action=CampaignAction.REFRESH)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=t.label("account.buttons.yes"), callback_data=yes.pack()),
                InlineKeyboardButton(text=t.label("account.buttons.no"), callback_data=no.pack()),
            ]
        ]
    )
    await edit(message, text, markup)
    await query.answer()


async def carry_out(
    query: CallbackQuery,
    message: Message,
    data: CampaignCallback,
    t: Translator,
    accounts: list[Account],
    providers: Providers,
    provider: Provider,
) -> None:
    """Start or stop the campaign, then show the list with what came of it on top."""
    starting = data.action is CampaignAction.START
    error: str | None = None
    status = ""
    try:
        if starting:
            reported = await provider.start_campaign(data.campaign_id)
        else:
            reported = await provider.stop_campaign(data.campaign_id)
        status = status_label(t, reported)
    except PbxError as exc:
        error = sentence(t, exc)
    sections = [await load_section(t, providers, account) for account in accounts]
    name = next(
        (
            row.name
            for section in sections
            for row in section.campaigns
            if row.account == data.account and row.id == data.campaign_id
        ),
        data.campaign_id,
    )
    outcome = Outcome("start" if starting else "stop", name, status, error)
    await edit(message, *render_list(t, sections, outcome))
    await query.answer()


async def edit(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the message; an unchanged message is left as it is."""
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            raise
