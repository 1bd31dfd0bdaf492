"""An account of a PBX that pushes the relay format."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr

from bot.accounts import AccountBase

if TYPE_CHECKING:
    from bot.pbx.base import Provider


def _group_id(value: str) -> str:
    if not re.fullmatch(r"0|[1-9][0-9]{0,17}", value):
        raise ValueError('a group id is a number as group_ids[] sends it, e.g. "5"')
    return value


def _as_text(value: object) -> object:
    """``101`` written without quotes is the extension "101"."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _extension(value: str) -> str:
    if not re.fullmatch(r"[0-9]{1,10}", value):
        raise ValueError('an extension is 1 to 10 digits, e.g. "101"')
    return value


GroupId = Annotated[str, AfterValidator(_group_id)]
Extension = Annotated[str, BeforeValidator(_as_text), AfterValidator(_extension)]


class RelayAccount(AccountBase):
    pbx_name: ClassVar[str] = "relay"

    provider: Literal["relay"]
    secret: Annotated[SecretStr, Field(min_length=16)]  # part of the URL the PBX posts to
    # The extensions each group id of group_ids[] stands for: { "5" = ["101", "102"] }.
    groups: dict[GroupId, Annotated[list[Extension], Field(min_length=1)]] = Field(
        default_factory=dict
    )

    @classmethod
    def provider_class(cls) -> type[Provider]:
        from bot.pbx.relay.provider import RelayProvider

        return RelayProvider

    def setup_lines(self, base_url: str, *, reveal: bool) -> list[str]:
        secret = self.secret.get_secret_value() if reveal else "<secret>"
        hint = "" if reveal else "  (run with --reveal to print the secret)"
        lines = [f"relay URL for create_call/update_call: {base_url}/calls/{secret}{hint}"]
        lines.extend(
            f"group_ids[]={group_id} rings {', '.join(extensions)}"
            for group_id, extensions in self.groups.items()
        )
        return lines

    def display_name(self) -> str:
        """Any script can push the relay format, so the product is unknown: the account's
        own id names it."""
        return self.id
