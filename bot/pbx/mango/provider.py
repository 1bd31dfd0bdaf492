"""MANGO OFFICE as a :class:`~bot.pbx.base.Provider`: nearly every capability the seam
knows."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.domain import (
    Balance,
    CallRecord,
    Campaign,
    CampaignStatus,
    CommandTicket,
    Contact,
    Employee,
    PbxGroup,
    PbxLine,
    Transcript,
)
from bot.events import PbxEvent
from bot.pbx.base import (
    AudioStream,
    Capability,
    Inbound,
    InvalidRequest,
    NoAnswer,
    NotReady,
    PbxRejected,
    PbxUnavailable,
    Provider,
    ProviderDeps,
    Route,
    Side,
)
from bot.pbx.mango import address_book, blacklist, company, speech, stats
from bot.pbx.mango.account import MangoAccount
from bot.pbx.mango.campaigns import campaign_from_info, campaign_from_list, status_from_info
from bot.pbx.mango.client import RETRY_DELAYS, MangoClient
from bot.pbx.mango.signing import recording_link_sign
from bot.pbx.mango.webhooks import EVENT_ROUTES, RESULT_ROUTES, parse_payload, signed_json

MSK = timezone(timedelta(hours=3))
SMS_LIMIT_LATIN = 612
SMS_LIMIT_CYRILLIC = 268
MAX_STATS_PERIOD = timedelta(days=30)
RECORDING_MISSING = {3320, 404}  # "recording not found": still being saved, or gone


class MangoProvider(Provider):
    """One MANGO OFFICE account: signed API requests out, signed webhooks in."""

    id = "mango"
    account_model = MangoAccount
    history_window = MAX_STATS_PERIOD
    name = MangoAccount.pbx_name
    # Everything but what only MTS keeps: the last caller and redial, "find me".
    capabilities = frozenset(Capability) - {Capability.CALL_RETURN, Capability.FORWARDING}
    routes = tuple(
        Route("POST", f"/events/{name}", f"events/{name}") for name in EVENT_ROUTES
    ) + tuple(Route("POST", f"/result/{name}", f"result/{name}") for name in RESULT_ROUTES)

    def __init__(
        self,
        account: MangoAccount,
        deps: ProviderDeps,
        *,
        stats_poll_interval: float = 5.0,
        stats_max_polls: int = 60,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        super().__init__(account, deps)
        self.mango = account
        if account.records_every_call:
            self.capabilities = self.capabilities - {Capability.RECORD}
        self.client = MangoClient(account, deps.http, deps.limiter, retry_delays=retry_delays)
        self._http = deps.http
        self._stats_poll_interval = stats_poll_interval
        self._stats_max_polls = stats_max_polls

    # inbound ---------------------------------------------------------------------
    def verify(self, inbound: Inbound) -> None:
        signed_json(
            inbound,
            self.mango.api_key.get_secret_value(),
            self.mango.api_salt.get_secret_value(),
        )

    def parse(self, inbound: Inbound) -> list[PbxEvent]:
        text = signed_json(
            inbound,
            self.mango.api_key.get_secret_value(),
            self.mango.api_salt.get_secret_value(),
        )
        return [parse_payload(inbound.route, text, self.account.id)]

    # commands --------------------------------------------------------------------
    def _ticket(self, command: str) -> CommandTicket:
        return CommandTicket(
            account=self.account.id, command=command, command_id=f"pbxgram-{uuid.uuid4().hex}"
        )

    async def _command(self, command: str, payload: dict[str, Any]) -> CommandTicket:
        ticket = self._ticket(command)
        try:
            await self.client.call(
                f"commands/{command}", {"command_id": ticket.command_id, **payload}
            )
        except NoAnswer as exc:
            exc.ticket = ticket  # its result may still come, by the command id
            raise
        return ticket

    async def callback(
        self, extension: str, number: str, *, line_number: str | None = None
    ) -> CommandTicket:
        payload: dict[str, Any] = {"from": {"extension": extension}, "to_number": number}
        if line_number:
            payload["line_number"] = line_number
        return await self._command("callback", payload)

    async def callback_group(
        self, group: str, number: str, *, line_number: str | None = None
    ) -> CommandTicket:
        if line_number is None:
            lines = await self.list_lines()
            if not lines:
                raise InvalidRequest(
                    "no line for a group callback", message_key="pbx_errors.no_line"
                )
            line_number = lines[0].number
        return await self._command(
            "callback_group", {"from": group, "to": number, "line_number": line_number}
        )

    async def hangup(self, leg_id: str) -> CommandTicket:
        return await self._command("call/hangup", {"call_id": leg_id})

    def check_sms(self, text: str) -> None:
        validate_sms(text)

    async def send_sms(self, extension: str, number: str, text: str) -> CommandTicket:
        """Send from ``extension`` (billed to it); under the account's ``sms_sender`` name
        when one is configured, else the sender name chosen in the PBX settings.

        ``sms_sender`` always goes out, empty when unset: 3.2.4 calls it optional, the
        FAQ's example calls it mandatory and sends "".
        """
        validate_sms(text)
        payload = {
            "text": text,
            "from_extension": extension,
            "to_number": number,
            "sms_sender": self.mango.sms_sender or "",
        }
        return await self._command("sms", payload)

    async def start_recording(self, leg_id: str, extension: str) -> CommandTicket:
        return await self._command(
            "recording/start", {"call_id": leg_id, "call_party_number": extension}
        )

    async def route(self, leg_id: str, to: str) -> CommandTicket:
        return await self._command("route", {"call_id": leg_id, "to_number": to})

    async def transfer(
        self, leg_id: str, to: str, *, consult: bool = False, side: Side = "to"
    ) -> CommandTicket:
        # "initiator": the employee's field of the transferred call (3.2.8).
        return await self._command(
            "transfer",
            {
                "call_id": leg_id,
                "method": "hold" if consult else "blind",
                "to_number": to,
                "initiator": f"{side}.extension",
            },
        )

    # directory -------------------------------------------------------------------
    async def list_employees(self) -> list[Employee]:
        data = await self.client.call(
            "config/users/request",
            {"ext_fields": ["groups", "general.mobile", "general.user_id"]},
        )
        fetched = company.employees(data, self.account.id, self.account.region)
        known = {employee.extension for employee in fetched}
        configured = [e for e in await super().list_employees() if e.extension not in known]
        return fetched + configured

    async def transcript(self, recording_id: str) -> Transcript:
        data = await self.client.call("queries/recording_transcripts", speech.request(recording_id))
        said = speech.phrases(data, recording_id)
        if not said:
            raise NotReady(f"MANGO: no transcript of {recording_id} yet")
        categories = await self.client.call(
            "queries/recording_categories", speech.request(recording_id, with_names=True)
        )
        return Transcript(phrases=said, topics=speech.topics(categories, recording_id))

    async def block_number(self, number: str, comment: str) -> None:
        state = await self.client.call("bwlists/state", {})
        if not blacklist.black_list_active(state):
            raise PbxRejected(
                "MANGO bwlists: the white list is in force",
                message_key="pbx_errors.white_list_active",
            )
        await self.client.call("bwlists/number/add", blacklist.add_request(number, comment))

    async def unblock_number(self, number: str) -> bool:
        found = blacklist.entry_ids(await self.client.call("bwlists/numbers", {}), number)
        for number_id in found:
            await self.client.call("bwlists/number/delete", {"number_id": number_id})
        return bool(found)

    async def find_contact(self, number: str) -> Contact | None:
        data = await self.client.call("ab/contact/init", address_book.init_request(number))
        for _ in range(address_book.MAX_PAGES):
            found = address_book.matching_contact(data, number, self.account.region)
            if found is not None:
                return found
            more = address_book.next_page_request(data)
            if more is None:
                return None
            data = await self.client.call("ab/contact/cursor", more)
        return None

    async def list_groups(self) -> list[PbxGroup]:
        return company.groups(await self.client.call("groups", {"show_users": 1}))

    async def list_lines(self) -> list[PbxLine]:
        return company.lines(await self.client.call("incominglines", {}))

    async def balance(self) -> Balance:
        data = await self.client.call("account/balance", {})
        try:
            amount = Decimal(str(data["balance"]))
        except (KeyError, InvalidOperation):
            raise PbxUnavailable("MANGO account/balance: no balance in the answer") from None
        at = _msk_time(data.get("response_at"))
        return Balance(
            account=self.account.id,
            amount=amount,
            currency=str(data.get("currency") or "RUB"),
            **({"at": at} if at else {}),
        )

    # recordings ------------------------------------------------------------------
    async def recording(self, recording_id: str) -> AudioStream:
        try:
            response = await self.client.post(
                "queries/recording/post", {"recording_id": recording_id, "action": "download"}
            )
        except PbxRejected as exc:
            if exc.vendor_code in RECORDING_MISSING:
                raise NotReady(
                    f"MANGO recording {recording_id} is not available yet",
                    vendor_code=exc.vendor_code,
                ) from None
            raise
        location = response.headers.get("Location")
        if response.status_code not in (301, 302, 303, 307) or not location:
            raise NotReady(f"MANGO recording {recording_id} is not available yet")
        request = self._http.build_request("GET", location)
        file = await self._http.send(request, stream=True)
        if file.status_code != 200:
            await file.aclose()
            raise NotReady(f"MANGO recording {recording_id}: HTTP {file.status_code}")
        return AudioStream.from_response(file, recording_id)

    def recording_link(
        self, recording_id: str, *, action: str = "download", valid_for: int = 3600
    ) -> str:
        """A GET link to the recording that works without signing in, until it expires.

        The PBX account must allow such links; the link carries the API key (not the salt).
        """
        expires = int(time.time()) + valid_for
        key = self.mango.api_key.get_secret_value()
        signature = recording_link_sign(
            key, expires, recording_id, self.mango.api_salt.get_secret_value()
        )
        return self.client.url(
            f"queries/recording/link/{recording_id}/{action}/{key}/{expires}/{signature}"
        )

    # history ---------------------------------------------------------------------
    async def call_history(self, start: datetime, end: datetime) -> list[CallRecord]:
        records: list[CallRecord] = []
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(end, chunk_start + MAX_STATS_PERIOD)
            records.extend(await self._stats(chunk_start, chunk_end))
            chunk_start = chunk_end
        return records

    async def log_call_id(self, record: CallRecord) -> str:
        # The stats CSV's entry_id is the call group's id, the same entry_id every
        # events/call and events/summary of that call carries: the same id matches.
        return record.call_id

    async def _stats(self, start: datetime, end: datetime) -> list[CallRecord]:
        request_id = f"pbxgram-{uuid.uuid4().hex}"
        answer = await self.client.call(
            "stats/request",
            {
                "date_from": str(int(start.timestamp())),
                "date_to": str(int(end.timestamp())),
                "fields": ",".join(stats.FIELDS),
                "request_id": request_id,
            },
        )
        key = answer.get("key")
        if not key:
            raise PbxUnavailable("MANGO stats/request: no key in the answer")
        for attempt in range(self._stats_max_polls):
            if attempt:
                await asyncio.sleep(self._stats_poll_interval)
            response = await self.client.post("stats/result", {"key": key})
            if response.status_code == 200:
                return stats.parse_csv(response.text)
        raise NotReady("MANGO statistics were not ready in time")

    # campaigns -------------------------------------------------------------------
    async def campaigns(self) -> list[Campaign]:
        data = await self.client.call(self.mango.campaign_list_path, {})
        return [campaign_from_list(item) for item in data.get("campaigns") or []]

    async def campaign(self, campaign_id: str) -> Campaign:
        data = await self.client.call("campaign", {"campaign_id": campaign_id})
        return campaign_from_info(data.get("campaign") or {})

    async def campaign_task(self, task_id: str) -> dict[str, Any]:
        data = await self.client.call("task", {"task_id": task_id})
        task = data.get("task")
        return task if isinstance(task, dict) else {}

    async def start_campaign(self, campaign_id: str) -> CampaignStatus:
        data = await self.client.call("campaign/start", {"campaign_id": campaign_id})
        return status_from_info(data.get("status"))

    async def stop_campaign(self, campaign_id: str) -> CampaignStatus:
        data = await self.client.call("campaign/stop", {"campaign_id": campaign_id})
        return status_from_info(data.get("status"))


def validate_sms(text: str) -> None:
    """InvalidRequest if the text is empty or over MANGO's limit (612 Latin / 268 Cyrillic)."""
    if not text.strip():
        raise InvalidRequest("empty SMS", message_key="pbx_errors.sms_empty")
    limit = SMS_LIMIT_LATIN if text.isascii() else SMS_LIMIT_CYRILLIC
    if len(text) > limit:
        raise InvalidRequest(
            f"SMS of {len(text)} characters, limit {limit}",
            message_key="pbx_errors.sms_too_long",
            params={"length": len(text), "limit": limit},
        )


def _msk_time(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=MSK)
    except ValueError:
        return None
