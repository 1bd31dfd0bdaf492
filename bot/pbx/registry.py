"""Building the provider of every configured account."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

import httpx

from bot.config import Account, MangoAccount, Settings
from bot.domain import Employee
from bot.pbx.base import PbxError, Provider
from bot.pbx.mango.provider import MangoProvider
from bot.ratelimit import SharedRateLimiter

PROVIDER_NAMES = {
    "mango": "MANGO OFFICE",
    "mts": "MTS VPBX",
    "mobilon": "Mobilon",
    "relay": "relay",
}
PROVIDER_CLASSES: dict[str, type[Provider]] = {"mango": MangoProvider}


def build_provider(
    account: Account, http: httpx.AsyncClient, limiter: SharedRateLimiter | None
) -> Provider:
    """The provider object for one account."""
    if isinstance(account, MangoAccount):
        return MangoProvider(account, http, limiter)
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
    ) -> Providers:
        return cls({a.id: build_provider(a, http, limiter) for a in settings.accounts})

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
