"""Building the provider of every configured account."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

import httpx
from redis.asyncio import Redis

from bot.config import (
    Account,
    AccountBase,
    MangoAccount,
    MobilonAccount,
    MtsAccount,
    RelayAccount,
    Settings,
)
from bot.domain import Employee
from bot.pbx.base import PbxError, Provider
from bot.pbx.mango.provider import MangoProvider
from bot.pbx.mobilon.provider import MobilonProvider
from bot.pbx.mts.provider import MtsProvider
from bot.pbx.relay.provider import RelayProvider
from bot.ratelimit import SharedRateLimiter

PROVIDER_CLASSES: dict[str, type[Provider]] = {
    "mango": MangoProvider,
    "relay": RelayProvider,
    "mts": MtsProvider,
    "mobilon": MobilonProvider,
}


def pbx_name(account: AccountBase | None) -> str:
    """The PBX as people know it, for sentences like "your PBX (MANGO OFFICE) …": the
    product's name, or the account's own id for a PBX pushing the relay format (any
    script can push it, so the product is unknown)."""
    if account is None:
        return Provider.name
    if account.provider_id == "relay" or account.provider_id not in PROVIDER_CLASSES:
        return account.id
    return PROVIDER_CLASSES[account.provider_id].name


def build_provider(
    account: Account,
    http: httpx.AsyncClient,
    limiter: SharedRateLimiter | None,
    *,
    redis: Redis | None = None,
) -> Provider:
    """The provider object for one account (``redis`` for providers that keep state)."""
    if isinstance(account, MangoAccount):
        return MangoProvider(account, http, limiter)
    if isinstance(account, MtsAccount):
        return MtsProvider(account, http, redis)
    if isinstance(account, RelayAccount):
        return RelayProvider(account, redis)
    if isinstance(account, MobilonAccount):
        return MobilonProvider(account, http, limiter, redis)
    return Provider(account)


class Providers:
    """The provider of each account, by account id."""

    def __init__(self, providers: Mapping[str, Provider]) -> None:
        self._providers = MappingProxyType(dict(providers))

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        http: httpx.AsyncClient,
        limiter: SharedRateLimiter | None = None,
        *,
        redis: Redis | None = None,
    ) -> Providers:
        return cls({a.id: build_provider(a, http, limiter, redis=redis) for a in settings.accounts})

    def get(self, account_id: str) -> Provider | None:
        return self._providers.get(account_id)

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._providers.values())

    async def find_employee_by_phone(self, phone: str) -> Employee | None:
        """The first employee, over all accounts, with this E.164 number.

        An account whose directory cannot be read right now is skipped.
        """
        for provider in self._providers.values():
            try:
                employees = await provider.list_employees()
            except PbxError:
                continue
            for employee in employees:
                if phone in employee.phones:
                    return employee
        return None
