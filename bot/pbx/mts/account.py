"""An MTS VPBX account in the TOML file."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import SecretStr

from bot.accounts import AccountBase


class MtsAccount(AccountBase):
    default_api_url: ClassVar[str] = "https://vpbx.mts.ru/"

    provider: Literal["mts"]
    api_token: SecretStr  # sent as X-AUTH-TOKEN on our requests
    callback_key: SecretStr  # what the PBX sends as X-AUTH-TOKEN with events
    mode: Literal["apicrm", "webhook"] = "apicrm"
    # The PBX records calls ("Запись разговоров"): fetch each answered call's recording.
    recordings: bool = False
