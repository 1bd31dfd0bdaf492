"""MTS VPBX as a :class:`~bot.pbx.base.Provider`: click-to-call, hang-up, transfer,
recordings, the abonent directory and call history. No SMS, balance or campaigns: the API
has none.

Events arrive at ``POST /pbx/{account}/events`` with the account's callback key as
``X-AUTH-TOKEN``. They name abonents by portal id, so :meth:`MtsProvider.complete` looks the
ids up in the directory before the events are stored. The PBX never says a call is over:
``summary_grace`` lets the pipeline end each call once all its legs are released.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import StreamReader

from bot.domain import (
    CallRecord,
    CommandTicket,
    Employee,
    Forwarding,
    ForwardMode,
    PbxGroup,
)
from bot.events import PbxEvent
from bot.pbx.accepted import report_accepted
from bot.pbx.base import (
    AudioStream,
    Capability,
    Inbound,
    InvalidRequest,
    JobDeps,
    PbxError,
    Provider,
    ProviderDeps,
    Route,
    Side,
    WebhookMalformed,
)
from bot.pbx.mts.abonents import Abonent, AbonentDirectory, Abonents
from bot.pbx.mts.account import MtsAccount
from bot.pbx.mts.client import MtsClient
from bot.pbx.mts.find_me import FindMe, FindMeMode
from bot.pbx.mts.history import call_records
from bot.pbx.mts.ignored import IgnoredEvents
from bot.pbx.mts.redis_keys import MtsKeys
from bot.pbx.mts.state import SubscriptionStore
from bot.pbx.mts.webhooks import (
    CALL_EVENTS,
    EventType,
    Ignored,
    Notification,
    call_id_of,
    read,
    to_events,
    verify_token,
)
from bot.phones import normalise

if TYPE_CHECKING:
    from bot.runtime.jobs import Job

log = logging.getLogger(__name__)

EVENTS_ROUTE = Route("POST", "/events", "events")
MAX_BODY = 64 * 1024  # a notification is a few hundred bytes
SUMMARY_GRACE = 8.0  # seconds: a queue may hand a released call to the next abonent


SUBSCRIPTIONS_JOB = "mts-subscriptions"


class MtsProvider(Provider):
    """One MTS VPBX account."""

    id = "mts"
    account_model = MtsAccount
    name = MtsAccount.pbx_name
    capabilities = frozenset(
        {
            Capability.CALLBACK,
            Capability.HANGUP,
            Capability.TRANSFER,
            Capability.CALL_RETURN,
            Capability.FORWARDING,
            Capability.RECORDINGS,
            Capability.EMPLOYEE_DIRECTORY,
            Capability.CALL_HISTORY,
        }
    )
    routes = (EVENTS_ROUTE,)
    summary_grace = SUMMARY_GRACE
    streams_body = True  # see receive(): the abonent ids need a directory look-up

    @classmethod
    def jobs(cls, providers: list[Provider], deps: JobDeps) -> list[Job]:
        """Event subscriptions kept alive (each lasts an hour) by one replica at a time."""
        from bot.pbx.mts.subscriptions import KeeperContext, subscription_jobs  # imports us

        context = KeeperContext(
            deps.redis, deps.keys, deps.links, deps.public_base, incidents=deps.incidents
        )
        return subscription_jobs(providers, context, tick=deps.period(SUBSCRIPTIONS_JOB, 30.0))

    def __init__(
        self,
        account: MtsAccount,
        deps: ProviderDeps,
        *,
        retry_delays: tuple[float, ...] | None = None,
    ) -> None:
        super().__init__(account, deps)
        self.mts = account
        http, redis, keys = deps.http, deps.redis, deps.keys
        self.client = (
            MtsClient(account, http)
            if retry_delays is None
            else MtsClient(account, http, retry_delays=retry_delays)
        )
        self._redis = redis
        self._keys = keys
        self.directory = AbonentDirectory(
            account.id, self.client.abonents, redis, MtsKeys.of(keys, account.id).abonents()
        )
        self.subscriptions = (
            SubscriptionStore(redis, keys, account.id) if redis is not None else None
        )
        # Notifications of unknown types; bind() it to Metrics.pbx_events_ignored to export.
        self.ignored = IgnoredEvents(account.id, self.id)

    # inbound ---------------------------------------------------------------------
    def verify(self, inbound: Inbound) -> None:
        verify_token(inbound, self.mts.callback_key.get_secret_value())

    def parse(self, inbound: Inbound) -> list[PbxEvent]:
        """Events of a notification, naming the abonents known right now (the web tier calls
        :meth:`receive`, which looks unknown ones up)."""
        note, raw = read(inbound)
        if isinstance(note, Ignored):
            self.ignored.note(note.event_type)
            return []
        return self._events(note, raw, self.directory.snapshot)

    async def receive(self, inbound: Inbound, body: StreamReader) -> list[PbxEvent]:
        """Read the notification, note a subscription's end, and name the abonent (asking
        the PBX's directory when the id is new); a directory that cannot be read answers
        503, so the PBX delivers the event again."""
        try:
            data = await _read_all(body, MAX_BODY + 1)
        except (ValueError, OSError):
            raise WebhookMalformed("body could not be read") from None
        if len(data) > MAX_BODY:
            raise WebhookMalformed("body too large for a notification")
        inbound = replace(inbound, body=data)
        note, raw = read(inbound)
        if isinstance(note, Ignored):  # answered 200: failed deliveries switch events off
            self.ignored.note(note.event_type)
            return []
        if note.event_type is EventType.SUBSCRIPTION_TERMINATION:
            assert note.abonent_id is not None
            if self.subscriptions is not None:
                await self.subscriptions.mark_terminated(note.abonent_id)
            log.info("MTS %s: subscription of abonent %s ended", self.account.id, note.abonent_id)
            return []
        if note.event_type not in CALL_EVENTS or note.abonent_id is None:
            return []  # CHECK_ALIVE: answered 200 straight away
        try:
            abonents = await self.directory.knowing({note.abonent_id})
        except PbxError as exc:
            raise ConnectionError(f"MTS directory unavailable: {exc}") from None
        return self._events(note, raw, abonents)

    def _events(
        self, note: Notification, raw: dict[str, Any], abonents: Abonents
    ) -> list[PbxEvent]:
        return to_events(
            note,
            raw,
            self.account.id,
            abonents,
            received_at=datetime.now(UTC),
            recordings=self.mts.recordings,
        )

    # abonents --------------------------------------------------------------------
    async def abonent(self, extension: str) -> Abonent:
        """The abonent with this extension; InvalidRequest when the PBX has none."""
        abonents = await self.directory.get()
        found = abonents.by_extension.get(extension)
        if found is None:
            abonents = await self.directory.get(fresh=True)
            found = abonents.by_extension.get(extension)
        if found is None:
            raise InvalidRequest(
                f"MTS: no abonent with extension {extension}",
                message_key="mts.errors.no_abonent",
                params={"extension": extension},
            )
        return found

    async def list_employees(self) -> list[Employee]:
        abonents = await self.directory.get(fresh=True)
        fetched = [
            a.employee(self.account.id, self.account.region) for a in abonents.all if a.extension
        ]
        known = {employee.extension for employee in fetched}
        configured = [e for e in await super().list_employees() if e.extension not in known]
        return fetched + configured

    async def list_groups(self) -> list[PbxGroup]:
        abonents = (await self.directory.get()).all
        return [
            PbxGroup(
                id=str(item.get("id")),
                name=str(item.get("name") or ""),
                members=tuple(
                    a.extension for a in abonents if a.extension and a.group_id == item.get("id")
                ),
            )
            for item in await self.client.groups()
            if item.get("id") is not None
        ]

    # calls -----------------------------------------------------------------------
    def _ticket(self, command: str, command_id: str) -> CommandTicket:
        return CommandTicket(account=self.account.id, command=command, command_id=command_id)

    async def callback(
        self, extension: str, number: str, *, line_number: str | None = None
    ) -> CommandTicket:
        """Click-to-call from the abonent's own phone (section 4.8.2)."""
        address = normalise(number, self.account.region)
        if address is None:
            raise InvalidRequest(f"MTS: {number!r} is not a phone number")
        abonent = await self.abonent(extension)
        await self.client.dial(abonent.user_id, address)
        ticket = self._ticket("callback", f"pbxgram-{uuid.uuid4().hex}")
        if self._redis is not None:  # 201 is all the PBX says: report it accepted
            raw = {"user_id": abonent.user_id, "address": address}
            await report_accepted(self._redis, self._keys, ticket, "mts", code=201, raw=raw)
        return ticket

    async def hangup(self, leg_id: str) -> CommandTicket:
        user_id, call_id = _split_leg(leg_id)
        await self.client.hangup(user_id, call_id)
        return await self._accepted("call/hangup", {"user_id": user_id, "call_id": call_id})

    async def transfer(
        self, leg_id: str, to: str, *, consult: bool = False, side: Side = "to"
    ) -> CommandTicket:
        """Blind: ``to`` is a number or extension. Consult: ``to`` is the leg id of the
        abonent's second call (the one with the party taking over). The abonent of the leg
        is the side transferring, whichever ``side`` it is."""
        user_id, call_id = _split_leg(leg_id)
        if consult:
            other_user, other_call = _split_leg(to)
            if other_user != user_id:
                raise InvalidRequest("MTS consult transfer joins two calls of one abonent")
            await self.client.consult_transfer(user_id, call_id, other_call)
        else:
            await self.client.blind_transfer(user_id, call_id, transfer_address(to))
        return await self._accepted("transfer", {"user_id": user_id, "call_id": call_id})

    async def _accepted(self, command: str, raw: dict[str, Any]) -> CommandTicket:
        """A ticket for a command the PBX carried out when it answered (HTTP 2xx is all
        it says): reported accepted at once."""
        ticket = self._ticket(command, f"pbxgram-{uuid.uuid4().hex}")
        if self._redis is not None:
            await report_accepted(self._redis, self._keys, ticket, "mts", code=200, raw=raw)
        return ticket

    async def call_return(self, extension: str) -> CommandTicket:
        """Call back whoever last called (or was missed by) the abonent (4.8.7)."""
        abonent = await self.abonent(extension)
        answer = await self.client.call_return(abonent.user_id)
        raw = {"user_id": abonent.user_id, "callId": answer.get("callId", "")}
        return await self._accepted("callback", raw)

    async def redial(self, extension: str) -> CommandTicket:
        """Dial the abonent's last dialled number again (4.8.8)."""
        abonent = await self.abonent(extension)
        answer = await self.client.last_number_redial(abonent.user_id)
        raw = {"user_id": abonent.user_id, "callId": answer.get("callId", "")}
        return await self._accepted("callback", raw)

    async def forwarding(self, extension: str) -> Forwarding:
        """The abonent's "Найди меня" (4.11), as one mode and its numbers."""
        abonent = await self.abonent(extension)
        found = await self.client.find_me(abonent.user_id)
        return _forwarding(found, self.account.region)

    async def set_forwarding(
        self, extension: str, mode: ForwardMode, number: str | None = None
    ) -> Forwarding:
        abonent = await self.abonent(extension)
        numbers = [number] if number and mode is not ForwardMode.OFF else []
        found = await self.client.set_find_me(abonent.user_id, FindMeMode(mode.value), numbers)
        return _forwarding(found, self.account.region)

    # recordings ------------------------------------------------------------------
    async def recording(self, recording_id: str) -> AudioStream:
        """The conversation's mp3 by its id as section 4.9 shows it (``11122233:1``; see
        :func:`~bot.pbx.mts.webhooks.to_events`), also for a call half's id kept earlier."""
        response = await self.client.recording(call_id_of(recording_id))
        return AudioStream.from_response(response, recording_id)

    # history ---------------------------------------------------------------------
    async def call_history(self, start: datetime, end: datetime) -> list[CallRecord]:
        rows = await self.client.call_history(
            "enterprise",
            dateFrom=int(start.timestamp() * 1000),
            dateTo=int(end.timestamp() * 1000),
        )
        return call_records(rows, await self.directory.get(), self.mts.recordings)

    async def log_call_id(self, record: CallRecord) -> str:
        # callHistory rows carry extTrackingId, the id every CALL_* event of the same call
        # half carries; its call part (call_id_of) is what the webhooks' sessions are keyed
        # by, and call_record already took it: the same id matches, leg rows of one call
        # share it.
        return record.call_id


def _forwarding(found: FindMe, region: str) -> Forwarding:
    """What people see of a "Найди меня": numbers in E.164 where they are phone numbers."""
    numbers = tuple(normalise(n, region) or n for n in found.numbers)
    return Forwarding(mode=ForwardMode(found.mode.value), numbers=numbers)


def transfer_address(to: str) -> str:
    """The transfer target as the doc wants it: an extension, or 8 and ten digits."""
    digits = "".join(ch for ch in to if ch.isdigit())
    if len(digits) == 11 and digits[0] in "78":
        return "8" + digits[1:]
    if len(digits) == 10:
        return "8" + digits
    return digits or to


def _split_leg(leg_id: str) -> tuple[int, str]:
    user, _, call = leg_id.partition(":")
    if not user.isdigit() or not call:
        raise InvalidRequest(f"MTS: {leg_id!r} is not a call of this PBX")
    return int(user), call


async def _read_all(body: StreamReader, limit: int) -> bytes:
    """The body, or its first ``limit`` bytes."""
    data = b""
    while len(data) < limit:
        chunk = await body.read(limit - len(data))
        if not chunk:
            break
        data += chunk
    return data
