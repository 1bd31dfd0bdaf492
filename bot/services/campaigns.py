"""Outbound-dialing campaigns as managers see them: the list per account, which campaign
may be started or stopped, and carrying out a confirmed Start or Stop.

Use from the ``/campaigns`` handlers; the buttons are drawn by
:mod:`bot.telegram.keyboards`. A PBX that cannot do campaigns is named, a PBX error told as
a sentence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.config import Account
from bot.domain import Campaign, CampaignStatus
from bot.formatting import sentence
from bot.pbx.base import Capability, PbxError, Provider
from bot.pbx.providers import Providers
from bot.pbx.registry import pbx_name
from bot.services.user_accounts import capable
from bot.telegram.callbacks import CampaignAction
from bot.texts import Translator

STARTABLE = frozenset({CampaignStatus.STOPPED})
STOPPABLE = frozenset({CampaignStatus.PLANNED, CampaignStatus.RUNNING})


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


@dataclass(frozen=True)
class Refused:
    """Why a Start or Stop is not offered for confirmation; ``stale``: show the list again."""

    text: str
    stale: bool


def allowed_action(campaign: Campaign) -> CampaignAction | None:
    """Start for a stopped campaign, Stop for a planned or running one, else nothing."""
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


def campaign_provider(
    providers: Providers, accounts: Iterable[Account], account_id: str
) -> Provider | None:
    """The provider of ``account_id`` if it is among ``accounts`` and can do campaigns."""
    account = next((a for a in accounts if a.id == account_id), None)
    return capable(providers, account, Capability.CAMPAIGNS) if account else None


async def load_section(t: Translator, providers: Providers, account: Account) -> Section:
    """One account's campaigns as the PBX reports them now."""
    provider = capable(providers, account, Capability.CAMPAIGNS)
    if provider is None:
        return Section(account.id, pbx=pbx_name(account))
    try:
        campaigns = await provider.campaigns()
    except PbxError as exc:
        return Section(account.id, error=sentence(t, exc))
    return Section(account.id, campaigns=[campaign_row(t, account.id, c) for c in campaigns])


async def load_sections(
    t: Translator, providers: Providers, accounts: Iterable[Account]
) -> list[Section]:
    return [await load_section(t, providers, account) for account in accounts]


async def review(
    t: Translator, provider: Provider, account: str, campaign_id: str, action: CampaignAction
) -> CampaignRow | Refused:
    """The campaign to confirm ``action`` for, if its current state still allows it."""
    try:
        campaigns = await provider.campaigns()
    except PbxError as exc:
        return Refused(sentence(t, exc), stale=False)
    campaign = next((c for c in campaigns if c.id == campaign_id), None)
    if campaign is not None and allowed_action(campaign) is action:
        return campaign_row(t, account, campaign)
    if campaign is None:
        notice = "account.notices.gone"
    elif action is CampaignAction.START:
        notice = "account.notices.cannot_start"
    else:
        notice = "account.notices.cannot_stop"
    return Refused(t.label(notice), stale=True)


async def carry_out(
    t: Translator,
    providers: Providers,
    accounts: Iterable[Account],
    provider: Provider,
    action: CampaignAction,
    account: str,
    campaign_id: str,
) -> tuple[list[Section], Outcome]:
    """Start or stop the campaign; then the list as it is now, and what came of it."""
    starting = action is CampaignAction.START
    error: str | None = None
    status = ""
    try:
        if starting:
            reported = await provider.start_campaign(campaign_id)
        else:
            reported = await provider.stop_campaign(campaign_id)
        status = status_label(t, reported)
    except PbxError as exc:
        error = sentence(t, exc)
    sections = await load_sections(t, providers, accounts)
    name = next(
        (
            row.name
            for section in sections
            for row in section.campaigns
            if row.account == account and row.id == campaign_id
        ),
        campaign_id,
    )
    return sections, Outcome("start" if starting else "stop", name, status, error)
