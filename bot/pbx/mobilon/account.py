"""A Mobilon account in the TOML file (employees' own keys live with their links)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import SecretStr

from bot.accounts import AccountBase
from bot.pbx.mobilon.cli import SET_KEY

if TYPE_CHECKING:
    from bot.pbx.base import Provider


class MobilonAccount(AccountBase):
    default_api_url: ClassVar[str] = "https://connect.mobilon.ru/"
    pbx_name: ClassVar[str] = "Mobilon"
    cli_commands = (SET_KEY,)  # an employee's key, from the shell

    provider: Literal["mobilon"]
    api_token: SecretStr  # the account token for call info and the journal

    @classmethod
    def provider_class(cls) -> type[Provider]:
        from bot.pbx.mobilon.provider import MobilonProvider

        return MobilonProvider

    def setup_lines(self, base_url: str, *, reveal: bool) -> list[str]:
        return [f"Mobilon webhook URL: {base_url}/incoming?number={{NUMBER}}&key={{KEY}}"]
