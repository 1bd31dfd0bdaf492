"""The provider registry: provider id → provider class, and the providers of the accounts.

Adding a PBX is one line in :data:`PROVIDER_CLASSES`. Everything else pbxgram needs to know
about a PBX (its account model, routes, set-up lines, admin commands, CLI subcommands,
background jobs) is declared on the class; :func:`registry_of` refuses a class that leaves
a piece out, at import time, so a forgotten piece fails at start-up and in every test.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

import httpx
from redis.asyncio import Redis

from bot.accounts import AccountBase
from bot.domain import Employee
from bot.pbx.base import CliCommand, JobDeps, PbxError, Provider, ProviderDeps
from bot.pbx.mango.provider import MangoProvider
from bot.pbx.mobilon.provider import MobilonProvider
from bot.pbx.mts.provider import MtsProvider
from bot.pbx.relay.provider import RelayProvider
from bot.storage.keys import Keys

if TYPE_CHECKING:
    from aiogram import Router

    from bot.config import Settings
    from bot.ratelimit import SharedRateLimiter
    from bot.runtime.jobs import Job


P = TypeVar("P", bound=Provider)


class RegistryError(TypeError):
    """A provider class is incomplete: raised at import, never at run time."""


def registry_of(*classes: type[Provider]) -> Mapping[str, type[Provider]]:
    """The read-only id → class mapping of ``classes``, each checked to be complete."""
    found: dict[str, type[Provider]] = {}
    for cls in classes:
        for problem in _problems(cls):
            raise RegistryError(f"provider {cls.__name__}: {problem}")
        if cls.id in found:
            raise RegistryError(f"provider id {cls.id!r} is registered twice")
        found[cls.id] = cls
    return MappingProxyType(found)


def _problems(cls: type[Provider]) -> Iterator[str]:
    if not cls.id:
        yield "declares no id"
    if cls.name == Provider.name:
        yield "declares no name"
    if not cls.routes:
        yield "declares no webhook routes"
    if cls.account_model is AccountBase or not issubclass(cls.account_model, AccountBase):
        yield "declares no account model"
    elif _account_tag(cls.account_model) != cls.id:
        yield f"its account model's provider must be Literal[{cls.id!r}]"
    if cls.setup_lines.__func__ is Provider.setup_lines.__func__:  # type: ignore[attr-defined]
        yield "does not say how to set it up (setup_lines)"


def _account_tag(model: type[AccountBase]) -> str | None:
    annotation = model.model_fields["provider"].annotation
    values = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
    return str(values[0]) if len(values) == 1 else None


PROVIDER_CLASSES: Mapping[str, type[Provider]] = registry_of(
    MangoProvider,
    MtsProvider,
    MobilonProvider,
    RelayProvider,
)


def account_models() -> tuple[type[AccountBase], ...]:
    """Every provider's account model, for the settings' account union."""
    return tuple(cls.account_model for cls in PROVIDER_CLASSES.values())


def secret_fields() -> tuple[str, ...]:
    """Every field name that holds a secret in some provider's account model."""
    names = (name for model in account_models() for name in model.secret_fields())
    return tuple(dict.fromkeys(names))


def cli_commands() -> tuple[CliCommand, ...]:
    """The ``pbxgram`` subcommands the providers bring."""
    return tuple(c for cls in PROVIDER_CLASSES.values() for c in cls.cli_commands)


def provider_routers() -> list[Router]:
    """Fresh routers for the Telegram commands the providers bring."""
    routers = (cls.build_router() for cls in PROVIDER_CLASSES.values())
    return [router for router in routers if router is not None]


def pbx_name(account: AccountBase | None) -> str:
    """The PBX as people know it, for sentences like "your PBX (its name) …"."""
    if account is None:
        return Provider.name
    cls = PROVIDER_CLASSES.get(account.provider_id)
    return account.id if cls is None else cls.display_name(account)


def setup_lines(account: AccountBase, base_url: str, *, reveal: bool = False) -> list[str]:
    """What to paste into the PBX's settings for ``account`` (``check-config``)."""
    return PROVIDER_CLASSES[account.provider_id].setup_lines(account, base_url, reveal=reveal)


def build_provider(account: AccountBase, deps: ProviderDeps) -> Provider:
    """The provider object for one account."""
    return PROVIDER_CLASSES[account.provider_id](account, deps)


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
        deps = ProviderDeps(http=http, redis=redis, keys=keys or Keys(), limiter=limiter)
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
            for cls in PROVIDER_CLASSES.values()
            if (mine := self.of_class(cls))
            for job in cls.jobs(list(mine), deps)
        ]

    def admin_commands(self) -> tuple[str, ...]:
        """The admin commands the configured accounts' PBXs bring, in registry order."""
        kinds = {type(p) for p in self._providers.values()}
        return tuple(
            dict.fromkeys(
                c for cls in PROVIDER_CLASSES.values() if cls in kinds for c in cls.admin_commands
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
