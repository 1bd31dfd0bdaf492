"""Normalised models shared by storage, handlers and providers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


class Role(StrEnum):
    """What a person may do: reps act on their own calls, managers on their account's."""

    REP = "rep"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {Role.REP: 1, Role.MANAGER: 2, Role.ADMIN: 3}[self]

    def at_least(self, other: Role) -> bool:
        """True when this role includes everything ``other`` may do."""
        return self.rank >= other.rank


class Language(StrEnum):
    RU = "ru"
    EN = "en"

    @classmethod
    def from_telegram(cls, code: str | None) -> Language:
        """The language for a Telegram ``language_code``; Russian unless it is English."""
        return cls.EN if code and code.lower().startswith("en") else cls.RU


class SubscriptionKind(StrEnum):
    """What a group chat can follow."""

    MISSED = "missed"
    SUMMARY = "summary"
    RECORDINGS = "recordings"
    DIGEST = "digest"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class User(_Model):
    """A Telegram user the bot knows."""

    telegram_id: int
    first_name: str = ""
    username: str | None = None
    role: Role | None = None
    language: Language | None = None  # chosen with /lang
    telegram_language: str | None = None  # the Telegram app's language code
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def preferred_language(self) -> Language:
        """The chosen language, else the one of their Telegram app (Russian by default)."""
        return self.language or Language.from_telegram(self.telegram_language)

    @property
    def display_name(self) -> str:
        if self.username:
            return f"{self.first_name} (@{self.username})" if self.first_name else self.username
        return self.first_name or str(self.telegram_id)


class Link(_Model):
    """A Telegram user acting as one PBX extension of one account."""

    account: str
    extension: str
    telegram_id: int


class Invite(_Model):
    """A one-time invitation to link as ``extension`` of ``account`` with ``role``."""

    code: str
    account: str
    extension: str
    role: Role
    created_by: int
    created_at: datetime = Field(default_factory=utcnow)


class CallerSource(StrEnum):
    """Where a caller's name came from."""

    ADDRESS_BOOK = "address_book"
    PBX = "pbx"
    PHONEBOOK = "phonebook"


class CallerId(_Model):
    """The client as cards show them."""

    name: str
    organisation: str | None = None
    manager: str | None = None  # extension of their personal employee
    source: CallerSource


class ForwardMode(StrEnum):
    """Where an employee's calls also go ("find me"): nowhere, to their numbers at the
    same time, one after another, or only there."""

    OFF = "off"
    PARALLEL = "parallel"
    SEQUENTIAL = "sequential"
    REDIRECT = "redirect"


class Forwarding(_Model):
    """An employee's "find me" forwarding as the PBX keeps it."""

    mode: ForwardMode = ForwardMode.OFF
    numbers: tuple[str, ...] = ()


class Transcript(_Model):
    """What was said on a recording: phrases in turn with the speaker's side as the PBX
    names it (empty when it does not say), and the topics found in it."""

    phrases: tuple[tuple[str, str], ...]
    topics: tuple[str, ...] = ()


class CallNote(_Model):
    """A note someone attached to a call by replying to one of its messages."""

    author: str
    author_id: int
    text: str
    at: datetime


class CallContext(_Model):
    """What happened with a client before this call: the card's context line."""

    calls: int  # calls with the number in the last few days, this one included
    days: int  # how many days ``calls`` covers
    last_at: datetime | None = None  # the previous call, if any
    last_answered: bool = False
    last_by: str | None = None  # extension that talked (or that it rang, if missed)
    not_called_back: bool = False  # the previous call was missed and is still open


class Employee(_Model):
    """An employee from a PBX directory: extension, name and phone numbers (E.164)."""

    account: str
    extension: str
    name: str = ""
    phones: tuple[str, ...] = ()
    user_id: str | None = None  # the PBX's own id of the employee, where it has one


class Contact(_Model):
    """A client as an address book knows them: who they are and whose client they are."""

    name: str
    organisation: str | None = None
    manager_user_id: str | None = None  # the personal employee (the PBX's user id)


class ApprovalRequest(_Model):
    """A person who proved a phone number that matches an employee, waiting for an admin."""

    id: str
    telegram_id: int
    account: str
    extension: str
    employee_name: str
    phone: str
    created_at: datetime = Field(default_factory=utcnow)
    admin_messages: tuple[tuple[int, int], ...] = ()


class CommandTicket(_Model):
    """A command the PBX accepted; its outcome arrives later under ``command_id``."""

    account: str
    command: str
    command_id: str


class Balance(_Model):
    account: str
    amount: Decimal
    currency: str
    at: datetime = Field(default_factory=utcnow)


class PbxGroup(_Model):
    """A group of employees (ring group / ACD group)."""

    id: str
    name: str
    extension: str | None = None
    members: tuple[str, ...] = ()


class PbxLine(_Model):
    """A number calls come in on."""

    number: str
    name: str = ""


class CampaignStatus(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FINISHED = "finished"
    PROCESSING = "processing"
    DELETING = "deleting"
    UNKNOWN = "unknown"


class Campaign(_Model):
    """An outbound-dialing campaign with its progress."""

    id: str
    name: str
    status: CampaignStatus
    vendor_status: str = ""
    tasks_total: int | None = None
    tasks_done: int | None = None


class CallRecord(_Model):
    """One call from the PBX's history."""

    call_id: str
    started_at: datetime
    direction: str
    caller: str
    callee: str
    extension: str | None = None
    answered: bool
    talk_seconds: int = 0
    recording_ids: tuple[str, ...] = ()
    ended_at: datetime | None = None
    line_number: str | None = None
    rang: tuple[str, ...] = ()  # extensions the call rang, as far as the log tells
    rang_unknown: bool = False  # the log cannot tell whom an unanswered call rang
