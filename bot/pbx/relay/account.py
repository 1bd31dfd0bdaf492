"""An account of a PBX that pushes the relay format."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, SecretStr

from bot.accounts import AccountBase

if TYPE_CHECKING:
    from bot.pbx.base import Provider


class RelayAccount(AccountBase):
    pbx_name: ClassVar[str] = "relay"

    provider: Literal["relay"]
    secret: Annotated[SecretStr, Field(min_length=16)]  # part of the URL the PBX posts to

    @classmethod
    def provider_class(cls) -> type[Provider]:
        from bot.pbx.relay.provider import RelayProvider

        return RelayProvider

    def setup_lines(self, base_url: str, *, reveal: bool) -> list[str]:
        secret = self.secret.get_secret_value() if reveal else "<secret>"
        hint = "" if reveal else "  (run with --reveal to print the secret)"
        return [f"relay URL for create_call/update_call: {base_url}/calls/{secret}{hint}"]

    def display_name(self) -> str:
        """Any script can push the relay format, so the product is unknown: the account's
        own id names it."""
        return self.id
