"""An MTS VPBX account in the TOML file."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import SecretStr

from bot.accounts import AccountBase

if TYPE_CHECKING:
    from bot.pbx.base import Provider


class MtsAccount(AccountBase):
    default_api_url: ClassVar[str] = "https://vpbx.mts.ru/"
    pbx_name: ClassVar[str] = "MTS VPBX"

    provider: Literal["mts"]
    api_token: SecretStr  # sent as X-AUTH-TOKEN on our requests
    callback_key: SecretStr  # what the PBX sends as X-AUTH-TOKEN with events
    mode: Literal["apicrm", "webhook"] = "apicrm"
    # The PBX records calls ("Запись разговоров"): fetch each answered call's recording.
    recordings: bool = False

    @classmethod
    def provider_class(cls) -> type[Provider]:
        from bot.pbx.mts.provider import MtsProvider

        return MtsProvider

    def setup_lines(self, base_url: str, *, reveal: bool) -> list[str]:
        return [f"callback URL for /api/service/{self.mode}: {base_url}/events"]
