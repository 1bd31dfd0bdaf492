"""Building the provider of every configured account."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from bot.config import Settings
from bot.domain import Employee
from bot.pbx.base import Provider

PROVIDER_NAMES = {
    "mango": "MANGO OFFICE",
    "mts": "MTS VPBX",
    "mobilon": "Mobilon",
    "relay": "relay",
}


class Providers:
    """The provider of each account, by account id."""

    def __init__(self, providers: Mapping[str, Provider]) -> None:
        self._providers = MappingProxyType(dict(providers))

    @classmethod
    def from_settings(cls, settings: Settings) -> Providers:
        return cls({account.id: Provider(account) for account in settings.accounts})

    def get(self, account_id: str) -> Provider | None:
        return self._providers.get(account_id)

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._providers.values())

    async def find_employee_by_phone(self, phone: str) -> Employee | None:
        """The first employee, over all accounts, with this E.164 number."""
        for provider in self._providers.values():
            for employee in await provider.list_employees():
                if phone in employee.phones:
                    return employee
        return None

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
