"""The ``/balance`` answer: one entry per account, with figures, an error, or the PBX's name."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.config import Account, Settings
from bot.formatting import moment, money, sentence
from bot.pbx.base import Capability, PbxError
from bot.pbx.providers import Providers
from bot.pbx.registry import pbx_name
from bot.services.user_accounts import capable
from bot.texts import Translator


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


async def balance_entry(
    t: Translator, settings: Settings, providers: Providers, account: Account
) -> BalanceEntry:
    """Ask the account's PBX for its balance; a PBX without one is named, an error told."""
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
