"""An account of a PBX that pushes the relay format."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr

from bot.accounts import AccountBase


class RelayAccount(AccountBase):
    provider: Literal["relay"]
    secret: Annotated[SecretStr, Field(min_length=16)]  # part of the URL the PBX posts to
