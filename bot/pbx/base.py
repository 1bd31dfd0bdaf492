"""The provider seam: what pbxgram asks of any PBX, inbound and outbound.

Inbound, in the shape of django-anymail's webhooks: the web tier hands an
:class:`Inbound` to :meth:`Provider.verify` (raises :class:`WebhookForbidden`), then
:meth:`Provider.parse` (raises :class:`WebhookMalformed`) which returns normalised
events from :mod:`bot.events`, then answers with :meth:`Provider.acknowledge`.

Outbound, typed methods; a provider declares its :class:`Capability` set, and a method it
lacks raises :class:`UnsupportedError`; every failure is a :class:`PbxError`
(:mod:`bot.pbx.errors` draws the tree). The request and answer types live in
:mod:`bot.pbx.wire`; both modules' names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, Literal

import httpx
from redis.asyncio import Redis

from bot.accounts import AccountBase
from bot.domain import (
    Balance,
    CallRecord,
    Campaign,
    CampaignStatus,
    CommandTicket,
    Contact,
    Employee,
    Forwarding,
    ForwardMode,
    PbxGroup,
    PbxLine,
    Transcript,
)
from bot.events import PbxEvent
from bot.pbx.errors import (
    InvalidRequest,
    NoAnswer,
    NotReady,
    PbxError,
    PbxRateLimited,
    PbxRejected,
    PbxUnavailable,
    UnsupportedError,
    WebhookError,
    WebhookForbidden,
    WebhookMalformed,
    transport_error,
)
from bot.pbx.wire import AudioStream, Inbound, Reply, Route
from bot.phones import normalise
from bot.storage.keys import Keys

__all__ = [
    "AudioStream",
    "Capability",
    "Inbound",
    "InvalidRequest",
    "JobDeps",
    "NoAnswer",
    "NotReady",
    "PbxError",
    "PbxRateLimited",
    "PbxRejected",
    "PbxUnavailable",
    "Provider",
    "ProviderDeps",
    "Reply",
    "Route",
    "Side",
    "UnsupportedError",
    "WebhookError",
    "WebhookForbidden",
    "WebhookMalformed",
    "transport_error",
]

if TYPE_CHECKING:
    from aiogram import Router
    from aiohttp import StreamReader

    from bot.pipeline.stream import EventStream
    from bot.ratelimit import SharedRateLimiter
    from bot.runtime.jobs import Job
    from bot.secret_box import SecretBox
    from bot.services.incidents import Incidents
    from bot.storage.links import LinkRepository


Side = Literal["from", "to"]  # which party of a call is the employee acting on it


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
    TRANSFER = "transfer"  # blind transfer of a call in progress
    CONSULT_TRANSFER = "consult_transfer"  # the client waits on hold while one consults
    ROUTE = "route"  # a ringing call sent elsewhere before anyone picks up
    RECORD = "record"  # recording a call in progress on demand
    ADDRESS_BOOK = "address_book"
    BLACKLIST = "blacklist"
    TRANSCRIPTS = "transcripts"
    FORWARDING = "forwarding"  # "find me": calls also ring the employee's mobile
    CALL_RETURN = "call_return"  # call back the last caller, redial the last number
    OUTGOING_LINE = "outgoing_line"  # calls placed from a chosen line (``list_lines``)


@dataclass(frozen=True)
class ProviderDeps:
    """What every provider is built with: the shared HTTP client, the shared PBX rate
    limiter, and Redis with its key names for providers that keep state."""

    http: httpx.AsyncClient
    redis: Redis | None = None
    keys: Keys = field(default_factory=Keys)
    limiter: SharedRateLimiter | None = None
    secret_box: SecretBox | None = None  # for secrets a provider keeps in Redis


@dataclass(frozen=True)
class JobDeps:
    """What a provider's background jobs are built with (see :meth:`Provider.jobs`)."""

    redis: Redis
    keys: Keys
    stream: EventStream  # where polled events go, as webhooks' do
    links: LinkRepository
    public_base: str | None  # PUBLIC_URL without a trailing slash; None when it is unset
    periods: Mapping[str, float] = field(default_factory=dict)  # job name -> seconds
    incidents: Incidents | None = None  # to tell admins once when a job's problem starts, ends

    def period(self, job: str, default: float) -> float:
        """How often ``job`` runs: ``default``, unless the wiring tightens it (tests)."""
        return self.periods.get(job, default)


class Provider:
    """One configured PBX account. Subclasses add the vendor's protocol and declare what
    it needs at run time: ``id``, ``account_model`` (its TOML table, which also declares
    what reading and checking the configuration needs), ``name``, ``capabilities``,
    ``routes``, :meth:`jobs`, and the admin commands it brings (:meth:`build_router`).
    The registry (:mod:`bot.pbx.registry`) refuses a subclass that leaves one out.

    The base knows only the employees listed in the account's TOML table (the directory
    for PBXs without a directory API); every other outbound method is unsupported.
    """

    id: ClassVar[str] = ""  # the ``provider`` value in the TOML file
    account_model: ClassVar[type[AccountBase]] = AccountBase
    name = "PBX"
    capabilities: frozenset[Capability] = frozenset()
    routes: tuple[Route, ...] = ()
    # Set when the PBX sends no "call finished" summary: the pipeline then ends each call
    # itself, this many seconds after its last leg ended (bot.pipeline.closing).
    summary_grace: float | None = None
    # The longest span one call-history request may cover.
    history_window: ClassVar[timedelta] = timedelta(days=30)
    # Telegram commands for admins this PBX needs (each with a handler and a menu label).
    admin_commands: ClassVar[tuple[str, ...]] = ()

    def __init__(self, account: AccountBase, deps: ProviderDeps) -> None:
        self.account = account
        self.deps = deps

    @classmethod
    def jobs(cls, providers: list[Provider], deps: JobDeps) -> list[Job]:
        """The background jobs this PBX needs for ``providers`` (every configured account
        of this class), e.g. renewing event subscriptions or polling calls in progress."""
        return []

    @classmethod
    def build_router(cls) -> Router | None:
        """A fresh aiogram router for the :attr:`admin_commands` this PBX brings."""
        return None

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def _unsupported(self, what: str) -> UnsupportedError:
        return UnsupportedError(f"{self.name} does not offer {what}")

    # inbound ---------------------------------------------------------------------
    async def prepare(self, inbound: Inbound) -> Inbound:
        """Look up what :meth:`verify` needs (e.g. in Redis) and return the request with it
        in ``params``; WebhookError refuses the request. Most PBXs need nothing."""
        return inbound

    def verify(self, inbound: Inbound) -> None:
        """Raise WebhookForbidden unless the request provably comes from this PBX."""
        raise WebhookForbidden("this account receives no webhooks")

    def parse(self, inbound: Inbound) -> list[PbxEvent]:
        """Normalised events of a verified request; WebhookMalformed if unreadable."""
        raise WebhookMalformed("this account receives no webhooks")

    # True: the web tier leaves the body unread (Inbound.body is empty) and hands its
    # stream to :meth:`receive`, for PBXs that upload files with their requests.
    streams_body = False

    async def receive(self, inbound: Inbound, body: StreamReader) -> list[PbxEvent]:
        """The events of a verified request whose body is read here, as it streams in
        (only called when :attr:`streams_body`); may keep state. WebhookError refuses it."""
        raise WebhookMalformed("this account reads no request bodies itself")

    def acknowledge(self, inbound: Inbound, events: list[PbxEvent]) -> Reply:
        """The answer once the events are stored."""
        return Reply()

    # outbound --------------------------------------------------------------------
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

    async def list_groups(self) -> list[PbxGroup]:
        raise self._unsupported("groups")

    async def list_lines(self) -> list[PbxLine]:
        raise self._unsupported("lines")

    async def callback(
        self, extension: str, number: str, *, line_number: str | None = None
    ) -> CommandTicket:
        """Ring ``extension`` first, then connect it to ``number``."""
        raise self._unsupported("click-to-call")

    async def call_return(self, extension: str) -> CommandTicket:
        """Ring ``extension``, then whoever last called it."""
        raise self._unsupported("calling back the last caller")

    async def redial(self, extension: str) -> CommandTicket:
        """Ring ``extension``, then the number it last dialled."""
        raise self._unsupported("redial")

    async def forwarding(self, extension: str) -> Forwarding:
        """Where ``extension``'s calls also go ("find me")."""
        raise self._unsupported('"find me" forwarding')

    async def set_forwarding(
        self, extension: str, mode: ForwardMode, number: str | None = None
    ) -> Forwarding:
        """Forward ``extension``'s calls to ``number`` (E.164) in ``mode``; OFF: nowhere."""
        raise self._unsupported('"find me" forwarding')

    async def callback_group(
        self, group: str, number: str, *, line_number: str | None = None
    ) -> CommandTicket:
        raise self._unsupported("group callback")

    async def hangup(self, leg_id: str) -> CommandTicket:
        """End the leg ``leg_id`` (the session's leg id) of a call in progress."""
        raise self._unsupported("hang-up")

    async def route(self, leg_id: str, to: str) -> CommandTicket:
        """Send the ringing leg ``leg_id`` to ``to`` (an extension or a number, digits)."""
        raise self._unsupported("routing a ringing call")

    async def start_recording(self, leg_id: str, extension: str) -> CommandTicket:
        """Start recording ``extension``'s conversation on the leg ``leg_id``."""
        raise self._unsupported("recording on demand")

    def check_sms(self, text: str) -> None:
        """InvalidRequest if this PBX would refuse ``text`` (empty, too long); call it before
        :meth:`send_sms` to refuse without a request."""

    async def send_sms(self, extension: str, number: str, text: str) -> CommandTicket:
        raise self._unsupported("SMS")

    async def balance(self) -> Balance:
        raise self._unsupported("balance")

    async def recording(self, recording_id: str) -> AudioStream:
        """Stream a recording; NotReady while the PBX is still preparing it."""
        raise self._unsupported("recordings")

    async def call_history(self, start: datetime, end: datetime) -> list[CallRecord]:
        raise self._unsupported("call history")

    async def log_call_id(self, record: CallRecord) -> str:
        """The id pbxgram's sessions give the call ``record`` of :meth:`call_history`
        describes, so a call seen by webhook and found in the log is one call. Use it to
        reconcile; by default the log's own id, for a PBX whose log carries the webhooks' id.
        """
        return record.call_id

    async def campaigns(self) -> list[Campaign]:
        raise self._unsupported("campaigns")

    async def start_campaign(self, campaign_id: str) -> CampaignStatus:
        """Start; the status the PBX reports afterwards."""
        raise self._unsupported("campaigns")

    async def stop_campaign(self, campaign_id: str) -> CampaignStatus:
        raise self._unsupported("campaigns")

    async def transfer(
        self, leg_id: str, to: str, *, consult: bool = False, side: Side = "to"
    ) -> CommandTicket:
        """Transfer the leg ``leg_id`` to ``to`` (an extension or a number, digits) on
        behalf of the employee on its ``side``; ``consult``: the client waits on hold."""
        raise self._unsupported("transfer")

    async def transcript(self, recording_id: str) -> Transcript:
        """The recording's transcript and topics; NotReady while the PBX's speech service
        is still at it, PbxRejected where the account has no such service."""
        raise self._unsupported("transcripts")

    async def block_number(self, number: str, comment: str) -> None:
        """Put ``number`` (E.164) on the PBX's own black list: its calls are turned away."""
        raise self._unsupported("a black list")

    async def unblock_number(self, number: str) -> bool:
        """Take ``number`` off the PBX's black list; False if it was not on it."""
        raise self._unsupported("a black list")

    async def find_contact(self, number: str) -> Contact | None:
        """The PBX address book's contact with the phone ``number`` (E.164), if any."""
        raise self._unsupported("an address book")
