"""A MANGO OFFICE account in the TOML file."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, SecretStr

from bot.accounts import AccountBase


class MangoAccount(AccountBase):
    default_api_url: ClassVar[str] = "https://app.mango-office.ru/vpbx/"

    provider: Literal["mango"]
    api_key: SecretStr  # vpbx_api_key
    api_salt: SecretStr  # the signing salt
    # The spec gives this path two ways; the request example uses the versioned one.
    campaign_list_path: str = "io/v1/campaign/get_list"
    # SMS sender name (commands/sms ``sms_sender``); unset: the one chosen in the PBX settings.
    sms_sender: Annotated[str, Field(max_length=128)] | None = None
