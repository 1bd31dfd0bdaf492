"""The provider registry: one line per PBX, and everything that follows from it.

Adding a PBX is one line in :data:`ACCOUNT_MODELS`: its account model, the light half of its
package (``bot/pbx/<id>/account.py``), which names its provider class. From it follow the
settings' account union and the provider ids in error messages (:mod:`bot.config`), the
secrets kept out of logs, ``check-config``'s URLs, the CLI subcommands, and
:func:`provider_classes` (provider id → class: webhook routes, jobs, Telegram commands).

Reading the configuration imports only the account models; the provider classes, which
bring the PBXs' HTTP clients, load on first use. :func:`registry_of` refuses a class that
leaves a piece out, so a forgotten piece fails at start-up and in every test.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from bot.accounts import AccountBase, CliCommand
from bot.pbx.mango.account import MangoAccount
from bot.pbx.mobilon.account import MobilonAccount
from bot.pbx.mts.account import MtsAccount
from bot.pbx.relay.account import RelayAccount

if TYPE_CHECKING:
    from aiogram import Router

    from bot.pbx.base import Provider

# The registry.
ACCOUNT_MODELS: tuple[type[AccountBase], ...] = (
    MangoAccount,
    MtsAccount,
    MobilonAccount,
    RelayAccount,
)

UNNAMED_PBX = "PBX"


class RegistryError(TypeError):
    """A provider is incomplete: raised at start-up, never while serving."""


def provider_id(model: type[AccountBase]) -> str | None:
    """The ``provider`` literal an account model is chosen by."""
    annotation = model.model_fields["provider"].annotation
    values = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
    return str(values[0]) if len(values) == 1 else None


def provider_ids() -> tuple[str, ...]:
    """The ``provider`` values the TOML file accepts, in registry order."""
    return tuple(str(provider_id(model)) for model in ACCOUNT_MODELS)


def secret_fields() -> tuple[str, ...]:
    """Every field name that holds a secret in some provider's account model."""
    names = (name for model in ACCOUNT_MODELS for name in model.secret_fields())
    return tuple(dict.fromkeys(names))


def cli_commands() -> tuple[CliCommand, ...]:
    """The ``pbxgram`` subcommands the providers bring."""
    return tuple(c for model in ACCOUNT_MODELS for c in model.cli_commands)


def pbx_name(account: AccountBase | None) -> str:
    """The PBX as people know it, for sentences like "your PBX (its name) …"."""
    return UNNAMED_PBX if account is None else account.display_name()


def setup_lines(account: AccountBase, base_url: str, *, reveal: bool = False) -> list[str]:
    """What to paste into the PBX's settings for ``account`` (``check-config``)."""
    return account.setup_lines(base_url, reveal=reveal)


@functools.cache
def provider_classes() -> Mapping[str, type[Provider]]:
    """Provider id → provider class of every registered PBX, each checked to be complete."""
    return registry_of(*(model.provider_class() for model in ACCOUNT_MODELS))


def provider_routers() -> list[Router]:
    """Fresh routers for the Telegram commands the providers bring."""
    routers = (cls.build_router() for cls in provider_classes().values())
    return [router for router in routers if router is not None]


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
    model = cls.account_model
    if not cls.id:
        yield "declares no id"
    if not cls.name or cls.name == UNNAMED_PBX:
        yield "declares no name"
    if not cls.routes:
        yield "declares no webhook routes"
    if model is AccountBase or not issubclass(model, AccountBase):
        yield "declares no account model"
        return
    if provider_id(model) != cls.id:
        yield f"its account model's provider must be Literal[{cls.id!r}]"
    if model.setup_lines is AccountBase.setup_lines:
        yield "its account model does not say how to set it up (setup_lines)"
    try:
        named = model.provider_class()
    except NotImplementedError:
        named = None
    if named is not cls:
        yield "its account model does not name it (provider_class)"
