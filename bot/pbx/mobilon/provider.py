"""Mobilon as a :class:`~bot.pbx.base.Provider`: click-to-call from each employee's own
key, recordings and history from the journal; no SMS, balance, campaigns or directory.

Needs the app's Redis (employee keys, followed calls, the events stream); without it
(``pbxgram link``) only the configured employees are known.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from bot.domain import CallRecord, CommandTicket
from bot.events import PbxEvent
from bot.pbx.accepted import report_accepted
from bot.pbx.base import (
    AudioStream,
    Capability,
    Inbound,
    InvalidRequest,
    JobDeps,
    NotReady,
    PbxUnavailable,
    Provider,
    ProviderDeps,
    WebhookForbidden,
)
from bot.pbx.mobilon import codes, matching, webhooks
from bot.pbx.mobilon.account import MobilonAccount
from bot.pbx.mobilon.client import MobilonClient
from bot.pbx.mobilon.followed_calls import CallBook, FollowedCall
from bot.pbx.mobilon.journal import JournalEntry
from bot.pbx.mobilon.keys import EmployeeKeys
from bot.pbx.mobilon.matching import client_key
from bot.pbx.mobilon.outcome import EXTENSION
from bot.secret_box import box_of

NUMBER = re.compile(r"^[0-9A-Za-z]+$")  # what CallToSubscriber accepts (its code 3)
MAX_HISTORY_DAYS = 31


if TYPE_CHECKING:
    from aiogram import Router

    from bot.runtime.jobs import Job

POLLING_JOB = "mobilon-calls"


class MobilonProvider(Provider):
    """One Mobilon account."""

    id = "mobilon"
    account_model = MobilonAccount
    name = MobilonAccount.pbx_name
    admin_commands = ("mobilonkey",)  # employees' keys (bot/pbx/mobilon/admin_command.py)
    capabilities = frozenset({Capability.CALLBACK, Capability.RECORDINGS, Capability.CALL_HISTORY})
    routes = webhooks.ROUTES

    def __init__(
        self,
        account: MobilonAccount,
        deps: ProviderDeps,
    ) -> None:
        super().__init__(account, deps)
        self.mobilon = account
        self.client = MobilonClient(account, deps.http, deps.limiter)
        self._redis = deps.redis
        self._keys = deps.keys
        # The employees' keys are kept encrypted: no PBXGRAM_SECRET_KEY, no provider.
        self._box = deps.secret_box or box_of(None)

    @classmethod
    def jobs(cls, providers: list[Provider], deps: JobDeps) -> list[Job]:
        """Calls in progress polled (Mobilon pushes only the ringing), one poller an account."""
        from bot.pbx.mobilon.poller import polling_jobs  # imports us

        return polling_jobs(providers, deps.stream, deps.period(POLLING_JOB, 5.0))

    @classmethod
    def build_router(cls) -> Router:
        from bot.pbx.mobilon.admin_command import build_router  # imports us

        return build_router()

    # state in Redis --------------------------------------------------------------
    def _need_redis(self) -> Redis:
        if self._redis is None:
            raise PbxUnavailable("Mobilon: no storage for employee keys")
        return self._redis

    @property
    def employee_keys(self) -> EmployeeKeys:
        """Where each employee's key is kept."""
        return EmployeeKeys(self._need_redis(), self._keys, box=self._box)

    @property
    def calls(self) -> CallBook:
        """Calls followed until the journal shows how they ended."""
        return CallBook(self._need_redis(), self._keys)

    # inbound ---------------------------------------------------------------------
    async def prepare(self, inbound: Inbound) -> Inbound:
        """Recognise the employee by the webhook's key and join the ring to its call."""
        if self._redis is None:
            raise WebhookForbidden("no storage for employee keys")
        return await webhooks.prepare(
            inbound,
            self.account.id,
            self.account.region,
            self.employee_keys,
            self.calls,
            datetime.now(UTC),
        )

    def verify(self, inbound: Inbound) -> None:
        webhooks.verify(inbound)

    def parse(self, inbound: Inbound) -> list[PbxEvent]:
        return list(webhooks.parse(inbound, self.account.id))

    # click-to-call ---------------------------------------------------------------
    async def callback(
        self, extension: str, number: str, *, line_number: str | None = None
    ) -> CommandTicket:
        """``CallToSubscriber`` with the key of ``extension``: it rings, then ``number``."""
        digits = number.lstrip("+")
        if not NUMBER.match(digits):
            raise InvalidRequest(
                "number refused before sending", vendor_code=3, message_key=codes.message_key(3)
            )
        key = await self.employee_keys.key_of(self.account.id, extension)
        if key is None:
            raise InvalidRequest(
                f"no Mobilon key for extension {extension}",
                message_key="mobilon.no_key",
                params={"extension": extension},
            )
        callid = await self.client.call_to_subscriber(key, digits)
        ticket = CommandTicket(
            account=self.account.id, command="callback", command_id=f"pbxgram-{uuid.uuid4().hex}"
        )
        await report_accepted(
            self._need_redis(),
            self._keys,
            ticket,
            "mobilon",
            code=codes.SUCCESS,
            raw={"callid": callid, "code": codes.SUCCESS},
            message_key="mobilon.errors.accepted",
        )
        if callid:
            now = datetime.now(UTC)
            await self.calls.follow_outbound(
                self.account.id,
                FollowedCall(
                    call_id=callid,
                    direction="outbound",
                    number=digits,
                    client=client_key(digits, self.account.region),
                    opened_at=now,
                    rings={extension: now},
                    extension=extension,
                    command_id=ticket.command_id,
                    callid=callid,
                ),
            )
        return ticket

    # recordings ------------------------------------------------------------------
    async def recording(self, recording_id: str) -> AudioStream:
        """The recording of the call ``recording_id`` (a Mobilon callid), by its
        ``record_url``; NotReady while the PBX has none."""
        info = await self.client.call_info(recording_id)
        if info is None or not info.record_url:
            raise NotReady(f"Mobilon call {recording_id} has no recording yet")
        response = await self.client.open_record(info.record_url)
        if response is None:
            raise NotReady(f"Mobilon recording of {recording_id} is not there yet")
        return AudioStream.from_response(response, recording_id)

    # history ---------------------------------------------------------------------
    async def call_history(self, start: datetime, end: datetime) -> list[CallRecord]:
        """Every call the journal holds between ``start`` and ``end`` (one request per
        day of the account's ``journal_zone``, the last :data:`MAX_HISTORY_DAYS` days at
        most)."""
        start = max(start, end - timedelta(days=MAX_HISTORY_DAYS))
        zone = self.mobilon.journal_tz
        day = start.astimezone(zone).date()
        last = end.astimezone(zone).date()
        records: list[CallRecord] = []
        while day <= last:
            for entry in await self.client.journal(day.isoformat()):
                if start <= entry.time < end:
                    records.append(history_record(entry))
            day += timedelta(days=1)
        # Oldest first, whatever the journal's order (the doc's lists the later call first).
        return sorted(records, key=lambda r: (r.started_at, r.call_id))

    async def log_call_id(self, record: CallRecord) -> str:
        # The incoming-call webhook carries no call id: a call it told of is keyed by an id
        # of pbxgram's own until the poller matches its journal record by number and time
        # window (bot.pbx.mobilon.matching) and claims the journal's callid for it. So: the
        # claimed call; else a call still followed that the record matches by the same rule
        # (claimed for it here, so the poller and this agree); else the callid itself, for
        # a call no webhook told of.
        return await matching.log_call_id(self.calls, self.account.id, self.account.region, record)


def history_record(entry: JournalEntry) -> CallRecord:
    """A journal record as a CallRecord; a short all-digit ``from``/``to`` is an extension."""
    from_ext = EXTENSION.match(entry.caller) is not None
    to_ext = EXTENSION.match(entry.callee) is not None
    if from_ext and to_ext:
        direction, extension = "internal", entry.callee
    elif from_ext:
        direction, extension = "outbound", entry.caller
    elif to_ext:
        direction, extension = "inbound", entry.callee
    else:
        direction, extension = "unknown", None
    if direction == "unknown":
        direction = "inbound"  # from an outside number to one of the PBX's lines
    return CallRecord(
        call_id=entry.callid,
        started_at=entry.time.astimezone(UTC),
        direction=direction,
        caller=entry.caller,
        callee=entry.callee,
        extension=extension,
        answered=entry.answered,
        talk_seconds=entry.duration if entry.answered else 0,
        recording_ids=(entry.callid,) if entry.record_url else (),
        ended_at=entry.time.astimezone(UTC) + timedelta(seconds=entry.duration),
        rang=(entry.callee,) if direction == "inbound" and to_ext else (),
        # The journal names only whom a call reached: an unanswered call's ``to`` is the line.
        rang_unknown=direction == "inbound" and not to_ext,
    )
