"""Which PBX accounts a person looks after, and which of them can do a thing.

Use :func:`accounts_of` for commands that span accounts (``/balance``, ``/campaigns``),
and :func:`capable` before asking an account's PBX for something only some can do.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.config import Account, Settings
from bot.domain import Link
from bot.pbx.base import Capability, Provider
from bot.pbx.providers import Providers


def accounts_of(settings: Settings, links: Iterable[Link], *, admin: bool) -> list[Account]:
    """The accounts this person may look after: every one for admins, else the linked ones."""
    if admin:
        return list(settings.accounts)
    linked = {link.account for link in links}
    return [account for account in settings.accounts if account.id in linked]


def capable(providers: Providers, account: Account, capability: Capability) -> Provider | None:
    """The account's provider when it can do ``capability``; None otherwise."""
    provider = providers.get(account.id)
    return provider if provider is not None and provider.supports(capability) else None
