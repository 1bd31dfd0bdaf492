"""A Mobilon account in the TOML file (employees' own keys live with their links)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, field_validator

from bot.accounts import AccountBase
from bot.pbx.mobilon.cli import SET_KEY

if TYPE_CHECKING:
    from bot.pbx.base import Provider

DEFAULT_JOURNAL_ZONE = "Europe/Moscow"


class MobilonAccount(AccountBase):
    default_api_url: ClassVar[str] = "https://connect.mobilon.ru/"
    pbx_name: ClassVar[str] = "Mobilon"
    cli_commands = (SET_KEY,)  # an employee's key, from the shell
    stores_secrets: ClassVar[bool] = True  # employees' keys, kept encrypted in Redis

    provider: Literal["mobilon"]
    api_token: SecretStr  # the account token for call info and the journal
    # The IANA zone of ``time`` in call info and the journal (the doc names none).
    journal_zone: str = DEFAULT_JOURNAL_ZONE

    @field_validator("journal_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe", too long
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Moscow)") from None
        return value

    @property
    def journal_tz(self) -> ZoneInfo:
        """The zone to read and ask journal times in."""
        return ZoneInfo(self.journal_zone)

    @classmethod
    def provider_class(cls) -> type[Provider]:
        from bot.pbx.mobilon.provider import MobilonProvider

        return MobilonProvider

    def setup_lines(self, base_url: str, *, reveal: bool) -> list[str]:
        return [f"Mobilon webhook URL: {base_url}/incoming?number={{NUMBER}}&key={{KEY}}"]
