"""A MANGO OFFICE account in the TOML file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, SecretStr

from bot.accounts import AccountBase

if TYPE_CHECKING:
    from bot.pbx.base import Provider


class MangoAccount(AccountBase):
    default_api_url: ClassVar[str] = "https://app.mango-office.ru/vpbx/"
    pbx_name: ClassVar[str] = "MANGO OFFICE"

    provider: Literal["mango"]
    api_key: SecretStr  # vpbx_api_key
    api_salt: SecretStr  # the signing salt
    # The spec gives this path two ways; the request example uses the versioned one.
    campaign_list_path: str = "io/v1/campaign/get_list"
    # SMS sender name (commands/sms ``sms_sender``); unset: the one chosen in the PBX settings.
    sms_sender: Annotated[str, Field(max_length=128)] | None = None
    # The PBX records every call already: cards offer no "Record" button.
    records_every_call: bool = False

    @classmethod
    def provider_class(cls) -> type[Provider]:
        from bot.pbx.mango.provider import MangoProvider

        return MangoProvider

    def setup_lines(self, base_url: str, *, reveal: bool) -> list[str]:
        return [
            f"MANGO OFFICE → Integrations → API, 'external system address': {base_url}",
            f"(events then arrive at {base_url}/events/call, {base_url}/events/summary, …;"
            f" command results at {base_url}/result/callback, …)",
        ]
