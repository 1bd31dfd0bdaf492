"""Call sessions: the state of one call (all its legs) while it happens, in Redis.

A session is keyed by the PBX's call-group id (``CallLegEvent.call_id``). Leg updates are
ordered by ``seq``: an event older than what a leg already shows is stale and ignored, so
duplicate and out-of-order deliveries leave the same state. Use :meth:`SessionStore.open`
to read-modify-write one session under a lock shared by all workers.
"""

from __future__ import annotations

import time
from datetime import datetime
from enum import StrEnum
from types import TracebackType

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import LockNotOwnedError

from bot.domain import CallContext, CallerId, CallNote
from bot.events import CallLegEvent, CallSummaryEvent, Direction, LegState
from bot.phones import normalise
from bot.pipeline.consumer import Handling, xack_args, xack_lua
from bot.storage import Keys
from bot.storage.lease import Lease, lease
from bot.storage.write_batch import WriteBatch

SESSION_TTL_SECONDS = 2 * 24 * 3600
IVR_LOCATIONS = {"ivr", "queue"}


class Leg(BaseModel):
    """One leg: the call to (or from) one extension or number."""

    leg_id: str
    seq: int
    state: LegState
    extension: str | None = None
    started_at: datetime
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    location: str | None = None
    disconnect_reason: int | None = None


class ActionKind(StrEnum):
    """What a person did to a call from its card."""

    TRANSFER = "transfer"  # blind: the client goes straight to the target
    CONSULT = "consult"  # the client waits on hold while the employee consults the target
    HANGUP = "hangup"
    RECORD = "record"
    MOBILE = "mobile"  # a ringing call sent to the employee's own mobile
    ROUTE = "route"  # a ringing call sent to a colleague


class ActionState(StrEnum):
    PLACING = "placing"
    ACCEPTED = "accepted"
    FAILED = "failed"
    UNANSWERED = "unanswered"  # the PBX did not answer in time; it may still happen


class CardAction(BaseModel):
    """The latest action on one employee's side of the call, shown on their card."""

    kind: ActionKind
    by: int  # who pressed (Telegram id)
    target: str = ""  # an extension, or a number (E.164)
    command_id: str = ""
    state: ActionState = ActionState.PLACING
    reason: str | None = None  # the message key of a refusal
    at: float = 0.0  # when it was pressed (Unix seconds)

    @property
    def settled(self) -> bool:
        return self.state in (ActionState.ACCEPTED, ActionState.FAILED)


_WRITES = "_writes"  # where a session keeps its WriteBatch


class CallSession(BaseModel):
    """Everything pbxgram knows about one call so far."""

    account: str
    call_id: str
    direction: Direction = Direction.UNKNOWN
    client_number: str | None = None
    line_number: str | None = None
    group: str | None = None
    command_id: str | None = None
    started_at: datetime | None = None
    legs: dict[str, Leg] = {}
    answered_by: str | None = None
    answered_at: datetime | None = None
    talked_at: datetime | None = None  # when an employee and the client were connected
    finished: bool = False
    answered: bool | None = None
    talk_seconds: int = 0
    ended_at: datetime | None = None
    cards: dict[str, int] = {}  # extension -> telegram id shown a card
    recordings: list[str] = []
    recovered: bool = False  # its end came from the PBX's call log, not from a webhook
    rang_unknown: bool = False  # recovered, and the log cannot tell whom it rang
    # Who the client is and what happened with them before (read once, when the client's
    # number is first known; the PBX's address book may still edit ``caller``).
    caller: CallerId | None = None
    identified: bool = False
    context: CallContext | None = None
    menu: str | None = None  # the digits the caller pressed in the voice menu
    notes: list[CallNote] = []
    tags: list[str] = []  # outcome tags, in the order the account lists them
    spam: bool = False  # the client's number was marked as spam: no alerts
    actions: dict[str, CardAction] = {}  # extension -> the latest action on its side
    # Numbers (E.164) a ringing call was sent to for an employee (their mobile): a leg
    # to one of them is that employee's.
    forwarded: dict[str, str] = {}
    comment: str | None = None  # the PBX's own words about the call (relay ``comment``)
    comment_version: int = 0
    # Digests of what the call's cards and summaries were last queued to show, by slot:
    # drawing one again unchanged asks nothing of Redis.
    shown: dict[str, str] = {}
    # Digests of what each card was last drawn from (see Notifier.refresh_cards).
    drawn: dict[str, str] = {}
    busy_noted: list[str] = []  # extensions this call last noted as busy (see Presence)
    missed_closed: bool = False  # the client's open missed calls were closed by this one

    @property
    def writes(self) -> WriteBatch:
        """Writes that go to Redis with this session's save (see :meth:`SessionStore.open`):
        what handling the event decided to write. Made when first asked for, and kept in the
        instance's dict beside the fields, where pydantic neither validates nor dumps it (a
        private attribute costs every load and every access a detour through Python)."""
        batch = self.__dict__.get(_WRITES)
        if batch is None:
            batch = self.__dict__[_WRITES] = WriteBatch()
        return batch

    def apply_leg(self, event: CallLegEvent, region: str = "RU") -> bool:
        """Update from a leg event; False when it changed nothing (stale or duplicate).

        A stale event (lower ``seq`` than the leg shows) never moves the leg back, but
        what it proves still counts: a leg that was connected was answered.
        """
        self._learn_call(event, region)
        current = self.legs.get(event.leg_id)
        before = self._fingerprint(event.leg_id)
        self._learn_comment(event)
        if current is None or event.seq > current.seq:
            extension = (
                event.callee.extension
                or event.caller.extension
                or self._forwarded_to(event.callee.number, region)
            )
            current = Leg(
                leg_id=event.leg_id,
                seq=event.seq,
                state=event.state,
                extension=extension or (current.extension if current else None),
                started_at=current.started_at if current else event.at,
                connected_at=current.connected_at if current else None,
                ended_at=current.ended_at if current else None,
                location=event.location,
                disconnect_reason=event.disconnect_reason,
            )
            self.legs[event.leg_id] = current
        if event.state is LegState.RINGING and event.at < current.started_at:
            current.started_at = event.at
        if event.state in (LegState.CONNECTED, LegState.ON_HOLD):
            self._connected(current, event)
        if event.state is LegState.DISCONNECTED and current.ended_at is None:
            current.ended_at = event.at
        return self._fingerprint(event.leg_id) != before

    def _fingerprint(self, leg_id: str) -> tuple[object, ...]:
        """What a leg event may change past what it teaches of the call itself: the
        comment, who answered, and that leg."""
        leg = self.legs.get(leg_id)
        return (
            self.comment,
            self.comment_version,
            self.answered_by,
            self.answered_at,
            self.talked_at,
            tuple(leg.__dict__.values()) if leg is not None else None,
        )

    def _learn_comment(self, event: CallLegEvent | CallSummaryEvent) -> None:
        """The newest comment the PBX sent, whatever order its events are handled in."""
        if event.comment is not None and event.comment_version >= self.comment_version:
            self.comment = event.comment
            self.comment_version = event.comment_version

    def _forwarded_to(self, number: str | None, region: str) -> str | None:
        if not number or not self.forwarded:
            return None
        return self.forwarded.get(normalise(number, region) or number)

    def _connected(self, leg: Leg, event: CallLegEvent) -> None:
        at = event.at
        if leg.connected_at is None or at < leg.connected_at:
            leg.connected_at = at
        if not leg.extension or leg.location in IVR_LOCATIONS:
            return
        if self.answered_at is None or at < self.answered_at:
            self.answered_by = leg.extension
            self.answered_at = at
        # Outbound, the employee's own leg connects first; the client is on the leg
        # whose callee is not an employee.
        reached_client = self.direction is not Direction.OUTBOUND or event.callee.extension is None
        if reached_client and (self.talked_at is None or at < self.talked_at):
            self.talked_at = at

    def apply_summary(self, event: CallSummaryEvent, region: str = "RU") -> None:
        self.finished = True
        self.answered = event.answered
        self.talk_seconds = event.talk_seconds
        self.ended_at = event.ended_at
        self.direction = event.direction
        self.line_number = self.line_number or event.line_number
        self.started_at = event.created_at
        self._learn_comment(event)
        if event.recovered:
            self.recovered = True
            self.rang_unknown = event.rang_unknown and not event.rang
            self._ring_logged(event)
        external = event.caller if event.direction is Direction.INBOUND else event.callee
        if event.direction is not Direction.INTERNAL and external.number:
            self.client_number = normalise(external.number, region) or external.number
        if event.answered:
            self.talked_at = self.talked_at or event.answered_at or event.ended_at
            if self.answered_by is None:
                employee = event.caller if event.direction is Direction.OUTBOUND else event.callee
                self.answered_by = employee.extension

    def _ring_logged(self, event: CallSummaryEvent) -> None:
        """Ended legs for the extensions a recovered call rang that no webhook showed."""
        known = {leg.extension for leg in self.legs.values()}
        for extension in event.rang:
            if extension not in known:
                self.legs[f"log:{extension}"] = Leg(
                    leg_id=f"log:{extension}",
                    seq=0,
                    state=LegState.DISCONNECTED,
                    extension=extension,
                    started_at=event.created_at,
                    ended_at=event.ended_at,
                )

    def _learn_call(self, event: CallLegEvent, region: str) -> None:
        if self.started_at is None or (not self.finished and event.at < self.started_at):
            self.started_at = event.at
        self.command_id = self.command_id or event.command_id
        self.line_number = self.line_number or event.callee.line_number
        self.group = self.group or event.callee.group
        if self.direction is Direction.UNKNOWN:
            self.direction = _direction(event)
        if self.client_number is None:
            number = _client_number(event, self.direction)
            if number:
                self.client_number = normalise(number, region) or number

    @property
    def rang(self) -> list[str]:
        """Extensions this call rang, in the order they first rang."""
        seen: list[str] = []
        for leg in sorted(
            self.legs.values(), key=lambda leg: (leg.started_at, leg.extension or "")
        ):
            if leg.extension and leg.location not in IVR_LOCATIONS and leg.extension not in seen:
                seen.append(leg.extension)
        return seen

    @property
    def employee(self) -> str | None:
        """Whose call it was: who answered, else the first extension an inbound call rang
        (an outgoing call that rang several people at once belongs to none of them)."""
        if self.answered_by is not None:
            return self.answered_by
        rang = self.rang
        if rang and (self.direction is Direction.INBOUND or len(rang) == 1):
            return rang[0]
        return None

    @property
    def talkers(self) -> list[str]:
        """Extensions that talked on this call, in the order they first did."""
        connected = sorted(
            (leg for leg in self.legs.values() if leg.connected_at and leg.extension),
            key=lambda leg: leg.connected_at or leg.started_at,
        )
        seen: list[str] = []
        for leg in connected:
            if leg.location not in IVR_LOCATIONS and leg.extension not in seen:
                seen.append(leg.extension or "")
        return seen

    def leg_of(self, extension: str) -> Leg | None:
        """The latest leg of ``extension``."""
        legs = [leg for leg in self.legs.values() if leg.extension == extension]
        if not legs:
            return None
        # Of legs that began the same second, the one heard of last is the latest.
        return max(enumerate(legs), key=lambda pair: (pair[1].started_at, pair[0]))[1]


def _direction(event: CallLegEvent) -> Direction:
    if event.location in IVR_LOCATIONS:
        return Direction.INBOUND
    if event.command_id or event.callback_initiator:
        return Direction.OUTBOUND
    caller_is_employee = event.caller.extension is not None
    callee_is_employee = event.callee.extension is not None
    if caller_is_employee and callee_is_employee:
        return Direction.INTERNAL
    if caller_is_employee:
        return Direction.OUTBOUND
    if callee_is_employee:
        return Direction.INBOUND
    return Direction.UNKNOWN


def _client_number(event: CallLegEvent, direction: Direction) -> str | None:
    if direction is Direction.INBOUND:
        return event.caller.number
    if direction is Direction.OUTBOUND:
        for party in (event.callee, event.caller):
            if party.number and not party.number.startswith("sip:") and party.extension is None:
                return party.number
    return None


# KEYS[1] the session's lock, KEYS[2] the session, KEYS[3] the account's last event seen,
# KEYS[4] the stream of the entry handled ('' for none); ARGV[1] lock token, ARGV[2] JSON
# (empty: unchanged), ARGV[3] ttl, ARGV[4] now (Unix s), ARGV[5..6] the entries' group and
# ids. The lock is given back with the write, and the entry acknowledged.
_SAVE_IF_HELD = (
    """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
else
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[3])
redis.call('DEL', KEYS[1])
"""
    + xack_lua("KEYS[4]", "ARGV[5]", "ARGV[6]")
    + """
return 1
"""
)


class SessionStore:
    """Load, lock and save call sessions."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, account: str, call_id: str) -> CallSession | None:
        raw = await self._redis.get(self._keys.call_session(account, call_id))
        return CallSession.model_validate_json(raw) if raw else None

    def open(self, account: str, call_id: str, *, last_for: Handling | None = None) -> OpenSession:
        """The session, locked for this worker (``async with store.open(...) as session``);
        saved when the block ends without error.

        If the lock expired meanwhile (this worker stood still for longer than the lease),
        another worker may have saved a newer state: nothing is saved, and the event is
        handled again later from what is stored. With ``last_for``, the save is the last
        effect of handling that stream entry, and acknowledges it."""
        return OpenSession(self._redis, self._keys, account, call_id, last_for)


class OpenSession:
    """The context of :meth:`SessionStore.open`. (A class rather than a generator: every
    call event enters one.)"""

    __slots__ = (
        "_account",
        "_call_id",
        "_held",
        "_key",
        "_keys",
        "_last_for",
        "_leased",
        "_raw",
        "_redis",
        "_session",
    )
    _held: Lease
    _raw: str | None
    _session: CallSession

    def __init__(
        self, redis: Redis, keys: Keys, account: str, call_id: str, last_for: Handling | None
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._account = account
        self._call_id = call_id
        self._last_for = last_for
        self._key = key = keys.call_session(account, call_id)
        self._leased = lease(redis, f"{key}:lock", wait=30, reads=lambda pipe: pipe.get(key))

    async def __aenter__(self) -> CallSession:
        self._held = held = await self._leased.__aenter__()
        try:
            [raw] = held.read
            self._session = (
                CallSession.model_validate_json(raw)
                if raw
                else CallSession(account=self._account, call_id=self._call_id)
            )
        except BaseException as exc:
            await self._leased.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        self._raw = raw
        return self._session

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            await self._leased.__aexit__(exc_type, exc, tb)
            return
        try:
            await self._save()
        except BaseException as failed:
            await self._leased.__aexit__(type(failed), failed, failed.__traceback__)
            raise
        await self._leased.__aexit__(None, None, None)

    async def _save(self) -> None:
        # What handling decided to write goes in the same round trip, before the save.
        # Noting when this account last had an event rides on the save's script: the
        # reconciliation reads it at start-up to know how far back to look. So does
        # giving the lock back.
        session, held, key, last_for = self._session, self._held, self._key, self._last_for
        saved_json = session.model_dump_json()
        stream, group, entry_id = xack_args(last_for)
        async with self._redis.pipeline(transaction=False) as pipe:
            session.writes.apply(pipe)
            pipe.eval(
                _SAVE_IF_HELD,
                4,
                f"{key}:lock",
                key,
                self._keys.last_event(self._account),
                stream,
                held.token,
                "" if saved_json == self._raw else saved_json,
                SESSION_TTL_SECONDS,
                int(time.time()),
                group,
                entry_id,
            )
            saved = (await pipe.execute())[-1]
        held.handed_back()
        if not saved:
            raise LockNotOwnedError(f"the lock of call {self._call_id} expired; not saved")
        if last_for is not None:
            last_for.acknowledged()
