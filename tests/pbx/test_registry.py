"""The provider registry is complete: every provider package is registered, serves routes,
is an account type of the config, and has a case in the provider contract."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
from typing import Literal, get_args, get_origin

import pytest

import bot.pbx
from bot.accounts import AccountBase
from bot.config import Account
from bot.pbx.base import Provider, Route
from bot.pbx.mango.account import MangoAccount
from bot.pbx.mango.provider import MangoProvider
from bot.pbx.registry import RegistryError, provider_classes, provider_ids, registry_of
from tests.pbx.contract_cases import CASES


def provider_classes_by_package() -> dict[str, list[type[Provider]]]:
    """The Provider subclasses defined in each ``bot/pbx/<package>/provider.py``."""
    found: dict[str, list[type[Provider]]] = {}
    for info in pkgutil.iter_modules(bot.pbx.__path__):
        if not info.ispkg:
            continue
        package = importlib.import_module(f"bot.pbx.{info.name}")
        if importlib.util.find_spec(f"{package.__name__}.provider") is None:
            continue
        module = importlib.import_module(f"{package.__name__}.provider")
        found[info.name] = [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Provider) and cls.__module__ == module.__name__
        ]
    return found


def config_provider_ids() -> set[str]:
    """The ``provider`` literal of every account model in the config's ``Account`` union."""
    ids: set[str] = set()
    union, *_ = get_args(Account)  # Annotated[A | B | ..., discriminator]
    for model in get_args(union):
        annotation = model.model_fields["provider"].annotation
        assert get_origin(annotation) is Literal, model
        ids.update(get_args(annotation))
    return ids


def test_every_provider_package_is_registered() -> None:
    packages = provider_classes_by_package()

    assert packages, "no provider packages found under bot/pbx"
    for package, classes in packages.items():
        assert classes, f"bot/pbx/{package}/provider.py defines no Provider"
        assert package in provider_classes(), f"{package} is missing from the registry"
        assert provider_classes()[package] in classes, f"{package} registers a foreign class"
    assert set(provider_classes()) == set(packages)


def test_every_registered_provider_declares_routes_and_a_name() -> None:
    for provider_id, cls in provider_classes().items():
        assert isinstance(cls.routes, tuple) and cls.routes, f"{provider_id} serves no routes"
        assert all(isinstance(route, Route) for route in cls.routes), provider_id
        assert cls.name and cls.name != Provider.name, f"{provider_id} has no name of its own"


def test_the_config_accounts_and_the_registry_name_the_same_providers() -> None:
    assert config_provider_ids() == set(provider_classes())
    assert provider_ids() == tuple(provider_classes())  # the registry's order, both ways
    for provider_id, cls in provider_classes().items():
        assert cls.id == provider_id
        assert cls.account_model in get_args(get_args(Account)[0]), provider_id


def test_every_registered_provider_has_a_contract_case() -> None:
    assert set(CASES) == set(provider_classes())
    for provider_id, case in CASES.items():
        assert case.account["provider"] == provider_id


class _Incomplete(MangoProvider):
    id = "incomplete"


class _NoSetup(Provider):
    id = "nosetup"
    name = "No set-up"
    routes = (Route("POST", "/x", "x"),)

    class account_model(AccountBase):
        provider: Literal["nosetup"]


class _Unnamed(MangoProvider):
    """Complete, but MANGO's account model names MangoProvider, not this class."""


@pytest.mark.parametrize(
    ("cls", "problem"),
    [
        (_Incomplete, "account model's provider must be Literal['incomplete']"),
        (_NoSetup, "does not say how to set it up"),
        (_Unnamed, "its account model does not name it"),
        (Provider, "declares no id"),
    ],
)
def test_an_incomplete_provider_is_refused_at_registration(
    cls: type[Provider], problem: str
) -> None:
    with pytest.raises(RegistryError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        registry_of(cls)


def test_a_provider_id_registered_twice_is_refused() -> None:
    with pytest.raises(RegistryError, match="registered twice"):
        registry_of(MangoProvider, MangoProvider)
    assert MangoProvider.account_model is MangoAccount
