"""The provider seam: what pbxgram asks of any PBX.

A provider declares its :class:`Capability` set; a method it lacks raises
:class:`UnsupportedError`, which handlers turn into plain words.
"""

from __future__ import annotations

from enum import StrEnum

from bot.config import AccountBase
from bot.domain import Employee
from bot.errors import PbxgramError
from bot.phones import normalise


class Capability(StrEnum):
    """Things a PBX may let pbxgram do."""

    CALLBACK = "callback"
    GROUP_CALLBACK = "group_callback"
    HANGUP = "hangup"
    SMS = "sms"
    BALANCE = "balance"
    EMPLOYEE_DIRECTORY = "employee_directory"
    RECORDINGS = "recordings"
    CALL_HISTORY = "call_history"
    CAMPAIGNS = "campaigns"
    TRANSFER = "transfer"


class PbxError(PbxgramError):
    """A PBX refused or failed a request; ``message_key`` names the sentence to show."""

    message_key = "pbx_error"

    def __init__(self, detail: str, *, vendor_code: str | None = None) -> None:
        super().__init__(detail)
        self.vendor_code = vendor_code


class UnsupportedError(PbxError):
    """The account's PBX cannot do this."""

    message_key = "pbx_unsupported"


class Provider:
    """One configured PBX account. Subclasses add the vendor's protocol.

    The base knows only the employees listed in the account's TOML table, which is
    the directory for PBXs without a directory API.
    """

    name = "PBX"
    capabilities: frozenset[Capability] = frozenset()

    def __init__(self, account: AccountBase) -> None:
        self.account = account

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    async def list_employees(self) -> list[Employee]:
        """The employees with their extensions and phone numbers (E.164)."""
        return [
            Employee(
                account=self.account.id,
                extension=entry.extension,
                name=entry.name,
                phones=tuple(
                    phone
                    for phone in (normalise(p, self.account.region) for p in entry.phones)
                    if phone is not None
                ),
            )
            for entry in self.account.employees
        ]

    async def aclose(self) -> None:
        """Release connections; the base holds none."""
