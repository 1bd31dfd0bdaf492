"""A Mobilon account in the TOML file (employees' own keys live with their links)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import SecretStr

from bot.accounts import AccountBase


class MobilonAccount(AccountBase):
    default_api_url: ClassVar[str] = "https://connect.mobilon.ru/"

    provider: Literal["mobilon"]
    api_token: SecretStr  # the account token for call info and the journal
