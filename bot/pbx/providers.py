"""The providers of the configured accounts, built the one way every provider is built.

Use :class:`Providers` wherever code needs "the PBX of account X"; it is built once by the
composition root from the settings and the registry (:mod:`bot.pbx.registry`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

import httpx
from redis.asyncio import Redis

from bot.accounts import AccountBase
from bot.domain import Employee
from bot.pbx.base import JobDeps, PbxError, Provider, ProviderDeps
from bot.pbx.registry import provider_classes
from bot.storage.keys import Keys

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.ratelimit import SharedRateLimiter
    from bot.runtime.jobs import Job

P = TypeVar("P", bound=Provider)


def build_provider(account: AccountBase, deps: ProviderDeps) -> Provider:
    """The provider object for one account."""
    return provider_classes()[account.provider_id](account, deps)


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
        keys: Keys | None = None,
    ) -> Providers:
        from bot.secret_box import settings_box

        deps = ProviderDeps(
            http=http,
            redis=redis,
            keys=keys or Keys(),
            limiter=limiter,
            secret_box=settings_box(settings),
        )
        return cls.of(settings.accounts, deps)

    @classmethod
    def of(cls, accounts: Iterable[AccountBase], deps: ProviderDeps) -> Providers:
        return cls({a.id: build_provider(a, deps) for a in accounts})

    def get(self, account_id: str) -> Provider | None:
        return self._providers.get(account_id)

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._providers.values())

    def of_class(self, cls: type[P]) -> list[P]:
        """The providers of one class, for the jobs a provider package runs."""
        return [p for p in self._providers.values() if isinstance(p, cls)]

    def jobs(self, deps: JobDeps) -> list[Job]:
        """The background jobs the configured accounts' PBXs need."""
        return [
            job
            for cls in provider_classes().values()
            if (mine := self.of_class(cls))
            for job in cls.jobs(list(mine), deps)
        ]

    def admin_commands(self) -> tuple[str, ...]:
        """The admin commands the configured accounts' PBXs bring, in registry order."""
        kinds = {type(p) for p in self._providers.values()}
        return tuple(
            dict.fromkeys(
                c for cls in provider_classes().values() if cls in kinds for c in cls.admin_commands
            )
        )

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
