"""What every PBX account in the TOML file has; each provider package extends
:class:`AccountBase` with its own fields (``bot/pbx/<provider>/account.py``).

Use :class:`AccountBase` wherever code works with any account; the provider registry turns
the provider packages' models into the one discriminated union the settings validate.

An account model is the light half of a provider package: what reading and checking the
configuration needs (the PBX's name, the URLs to paste, the CLI subcommands it brings),
importable without any HTTP or Redis client; :meth:`AccountBase.provider_class` leads to
the rest.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr

from bot.domain import Language
from bot.durations import Duration
from bot.working_hours import WorkingHoursField

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.pbx.base import Provider

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
EXTENSION_PATTERN = r"^\d{1,10}$"
REGION_PATTERN = r"^[A-Z]{2}$"
MENU_KEY_PATTERN = r"^[0-9*#]{1,10}$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]


class EmployeeEntry(BaseModel):
    """An employee listed in the TOML file, for PBXs without a directory API."""

    model_config = ConfigDict(extra="forbid")

    extension: Annotated[str, Field(pattern=EXTENSION_PATTERN)]
    name: str = ""
    phones: list[str] = []


@dataclass(frozen=True)
class CliCommand:
    """A ``pbxgram`` subcommand a provider brings (e.g. storing an employee's key)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, str]]  # what to print


class AccountBase(BaseModel):
    """Fields every PBX connection has. Subclasses narrow ``provider`` to their id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The PBX API's address when the file gives none ("" for PBXs pbxgram never calls).
    default_api_url: ClassVar[str] = ""
    pbx_name: ClassVar[str] = ""  # the PBX as people know it (its product name)
    cli_commands: ClassVar[tuple[CliCommand, ...]] = ()  # ``pbxgram`` subcommands it brings

    id: Slug
    provider: str
    api_url: AnyHttpUrl | None = None
    auto_link_by_phone: bool = False
    balance_alert_below: float | None = None
    alert_ivr_abandoned: bool = False
    region: Annotated[str, Field(pattern=REGION_PATTERN)] = "RU"
    employees: list[EmployeeEntry] = []
    # When people are at work (in TIMEZONE), e.g. "mon-fri 09:00-18:00"; unset: always.
    working_hours: WorkingHoursField | None = None
    # Admins are told when no call event came for this long during working hours.
    silence_alert_after: Duration | None = None
    # A missed call should be called back within this much working time (then a reminder),
    # and the managers are told once it waits this long; unset: no reminder, no escalation.
    callback_within: Duration | None = None
    escalate_after: Duration | None = None
    # Text the caller after a missed call, within working hours, once a day per number:
    # true for the default text (in ``missed_sms_language``), or the text itself. It goes
    # from ``missed_sms_from``, else from the first extension the call rang.
    missed_sms: bool | str = False
    missed_sms_language: Language = Language.RU
    missed_sms_from: Annotated[str, Field(pattern=EXTENSION_PATTERN)] | None = None
    # The voice menu's items by the digits that choose them ("1" = "Sales"): cards and
    # alerts name the caller's choice; unnamed digits are shown as pressed.
    menu: dict[Annotated[str, Field(pattern=MENU_KEY_PATTERN)], str] = {}
    # Outcome tags offered on a card once its call ended (the defaults are named in each
    # person's language; others are shown as written).
    tags: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=32)]], Field(max_length=12)
    ] = ["sale", "question", "complaint", "spam"]

    @property
    def base_api_url(self) -> str:
        """The PBX API base URL: the configured one or the provider's default."""
        if self.api_url is not None:
            return str(self.api_url)
        return self.default_api_url

    @property
    def provider_id(self) -> str:
        return self.provider

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        """The fields holding secrets: they may come from PBXGRAM_<ID>_<FIELD> variables and
        never reach logs."""
        return tuple(
            name
            for name, info in cls.model_fields.items()
            if info.annotation is SecretStr
            or any(arg is SecretStr for arg in getattr(info.annotation, "__args__", ()))
        )

    @classmethod
    def provider_class(cls) -> type[Provider]:
        """The provider class of this kind of account (imported on first use: it brings
        the PBX's clients)."""
        raise NotImplementedError(f"{cls.__name__} names no provider class")

    def setup_lines(self, base_url: str, *, reveal: bool) -> list[str]:
        """What ``check-config`` prints for this account: each URL to paste into the PBX's
        settings (under ``base_url``, the account's ``PUBLIC_URL/pbx/{id}``) and where.
        Secret parts of a URL are masked unless ``reveal``."""
        raise NotImplementedError(f"{type(self).__name__} does not say how to set it up")

    def display_name(self) -> str:
        """The PBX as people know it, for sentences like "your PBX (its name) …"."""
        return self.pbx_name
