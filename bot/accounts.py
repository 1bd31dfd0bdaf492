"""What every PBX account in the TOML file has; each provider package extends
:class:`AccountBase` with its own fields (``bot/pbx/<provider>/account.py``).

Use :class:`AccountBase` wherever code works with any account; the provider registry turns
the provider packages' models into the one discriminated union the settings validate.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


class EmployeeEntry(BaseModel):
    """An employee listed in the TOML file, for PBXs without a directory API."""

    model_config = ConfigDict(extra="forbid")

    extension: Annotated[str, Field(pattern=r"^\d{1,10}$")]
    name: str = ""
    phones: list[str] = []


class AccountBase(BaseModel):
    """Fields every PBX connection has. Subclasses narrow ``provider`` to their id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The PBX API's address when the file gives none ("" for PBXs pbxgram never calls).
    default_api_url: ClassVar[str] = ""

    id: Slug
    provider: str
    api_url: AnyHttpUrl | None = None
    auto_link_by_phone: bool = False
    balance_alert_below: float | None = None
    alert_ivr_abandoned: bool = False
    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "RU"
    employees: list[EmployeeEntry] = []

    @property
    def base_api_url(self) -> str:
        """The PBX API base URL: the configured one or the provider's default."""
        if self.api_url is not None:
            return str(self.api_url)
        return self.default_api_url

    @property
    def provider_id(self) -> str:
        return self.provider

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        """The fields holding secrets: they may come from PBXGRAM_<ID>_<FIELD> variables and
        never reach logs."""
        return tuple(
            name
            for name, info in cls.model_fields.items()
            if info.annotation is SecretStr
            or any(arg is SecretStr for arg in getattr(info.annotation, "__args__", ()))
        )
