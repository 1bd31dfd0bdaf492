"""The MANGO OFFICE VPBX API simulator: a loopback HTTP server plus scripted calls.

Use it wherever the bot would talk to ``https://app.mango-office.ru/vpbx/``: point the
account's ``api_url`` at :attr:`MangoSimulator.base_url` and its webhooks at the bot via
:attr:`MangoSimulator.webhook_url`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any, Literal

from aiohttp import web

from sandbox.mango import codes, scenarios
from sandbox.mango.address_book import AddressBook, Contact
from sandbox.mango.blacklist import Lists
from sandbox.mango.calls import CallRecord, Ids
from sandbox.mango.campaigns import Campaign, Campaigns
from sandbox.mango.delivery import POST_TIMEOUT, Failures, post_signed
from sandbox.mango.directory import Directory, Employee, Group, Line
from sandbox.mango.handlers import Reply, failure
from sandbox.mango.limits import MangoLimits, RateLimiter
from sandbox.mango.live import END, LiveCall, Order
from sandbox.mango.recordings import Recordings
from sandbox.mango.server import ReceivedRequest, build_app
from sandbox.mango.signing import encode
from sandbox.mango.speech import Said, Speech
from sandbox.mango.stats import HistoryRow, StatsJob
from sandbox.server import SimulatorServer

log = logging.getLogger(__name__)

Delivery = Literal["normal", "duplicate", "out_of_order"]
# Where a completed recording goes (3.1.3 "Получатель записи recipient"): "Mail" alone
# leaves nothing in the cloud, so queries/recording/post answers 3320 for it.
Recipient = Literal["Cloud", "Mail", "CloudAndMail"]


class MangoSimulator(SimulatorServer):
    """MANGO's side of the API on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        api_key: str = "k",
        api_salt: str = "s",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        limits: MangoLimits | None = None,
        step_delay: float = 0.01,
        escape_unicode: bool = False,
    ) -> None:
        self.api_key = api_key
        self.api_salt = api_salt
        super().__init__(host, port)
        self.webhook_url = webhook_url
        self.limits = limits if limits is not None else MangoLimits()
        self.limiter = RateLimiter(self.limits)
        self.step_delay = step_delay
        self.escape_unicode = escape_unicode
        self.auto_play = True
        self.delivery: Delivery = "normal"
        # Paths (or their beginnings, "events/") never posted: the calls stay in the call log.
        self.drop_webhooks: set[str] = set()
        self.stats_ready_after = 1
        self.recording_ready_after = 0
        self.recording_recipient: Recipient = "Cloud"
        self.balance: tuple[Decimal, str] = (Decimal("1234.50"), "RUB")
        self.directory = Directory()
        self.address_book = AddressBook()
        self.bwlists = Lists()
        self.speech = Speech()
        # Who picks up a group's call placed by ``commands/callback_group`` (None: the
        # group's first member).
        self.group_answerer: str | None = None
        self.campaigns = Campaigns(self.directory)
        self.recordings = Recordings()
        self.history: list[HistoryRow] = []
        self.stats_jobs: dict[str, StatsJob] = {}
        self.requests: list[ReceivedRequest] = []
        self.posted: list[tuple[str, dict[str, Any], int]] = []
        self.ids = Ids()
        self.live_legs: set[str] = set()
        self.hangups: set[str] = set()
        # Calls of play_live_inbound still up, by entry_id; they carry out commands.
        self.live_calls: dict[str, LiveCall] = {}
        # Extensions or numbers that do not answer when a command sends a call to them.
        self.unanswering: set[str] = set()
        # Real seconds from a consultation answering until the initiator hangs up.
        self.consult_handover_delay = 0.05
        self._failures = Failures()
        self._stalls: dict[str, list[tuple[float, bool]]] = {}
        self._errors: list[BaseException] = []
        self._commands = 0

    # lifecycle --------------------------------------------------------------------
    post_timeout = POST_TIMEOUT

    def build_app(self) -> web.Application:
        return build_app(self)

    @property
    def root_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the simulator is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What an account's ``api_url`` is set to: ``http://127.0.0.1:<port>/vpbx/``."""
        return self.root_url + "/vpbx/"

    # directory --------------------------------------------------------------------
    def add_employee(self, employee: Employee) -> Employee:
        """Add an employee (a ``user_id`` is assigned when missing)."""
        return self.directory.add_employee(employee)

    def add_contact(self, contact: Contact) -> Contact:
        """Add a contact to the address book (an id is assigned when missing)."""
        return self.address_book.add(contact)

    def add_transcript(self, recording_id: str, said: Said) -> None:
        """What the speech service made of a recording (connect it: ``speech.connected``)."""
        self.speech.add(recording_id, said)

    def add_group(self, group: Group) -> Group:
        return self.directory.add_group(group)

    def add_line(self, line: Line) -> Line:
        """Add a PBX number (a ``line_id`` is assigned when missing)."""
        return self.directory.add_line(line)

    def add_campaign(self, campaign: Campaign) -> Campaign:
        return self.campaigns.add(campaign)

    def add_recording(self, recording_id: str, data: bytes, *, ready_after: int = 0) -> None:
        """Make a recording downloadable after ``ready_after`` "not found yet" answers."""
        self.recordings.add(recording_id, data, ready_after)

    # what the bot did -------------------------------------------------------------
    def commands(self, path: str) -> list[dict[str, Any]]:
        """Payloads of verified requests to ``path`` that were not turned away with 503."""
        wanted = _clean(path)
        return [
            r.payload
            for r in self.requests
            if r.path == wanted and r.verified and r.status != 503 and r.payload is not None
        ]

    # failure injection ------------------------------------------------------------
    def fail_next(
        self, path: str, *, code: int | None = None, http_status: int | None = None, times: int = 1
    ) -> None:
        """Answer the next ``times`` verified requests to ``path`` with a failure.

        ``code`` alone: HTTP 200 ``{"result": code}``; ``http_status=420``: HTTP 420
        ``{"code": code}``; another ``http_status``: that bare status (503 carries the
        spec's "Rate limit exceeded." body).
        """
        self._failures.add(_clean(path), code, http_status, times)

    def take_failure(self, path: str) -> Reply | None:
        return self._failures.take(path)

    def stall_next(
        self, path: str, seconds: float, *, times: int = 1, carry_out: bool = False
    ) -> None:
        """Hold the next ``times`` verified requests to ``path`` for ``seconds`` before
        answering, like an overloaded PBX. One whose caller gave up meanwhile (a client
        timeout) is recorded with status 504 and not carried out, unless ``carry_out``:
        then the PBX does it all the same (its result events go out as usual).
        """
        self._stalls.setdefault(_clean(path), []).extend([(seconds, carry_out)] * times)

    def take_stall(self, path: str) -> tuple[float, bool]:
        """(seconds to hold the request, whether to carry it out if its caller gave up)."""
        queue = self._stalls.get(path)
        return queue.pop(0) if queue else (0.0, False)

    # scenarios --------------------------------------------------------------------
    async def play_callback(
        self,
        from_extension: str,
        to_number: str,
        *,
        command_id: str | None = None,
        answered: bool = True,
        record: bool = True,
        talk_seconds: int = 30,
        line_number: str | None = None,
    ) -> CallRecord:
        """Play a click-to-call: result/callback, both legs, summary and the recording."""
        return await scenarios.play_callback(
            self,
            from_extension,
            to_number,
            command_id=command_id,
            answered=answered,
            record=record,
            talk_seconds=talk_seconds,
            line_number=line_number,
        )

    async def play_inbound(
        self,
        line_number: str,
        from_number: str,
        *,
        group_id: int | None = None,
        ring: list[str] | None = None,
        answered_by: str | None = None,
        abandon_in_ivr: bool = False,
        record: bool = True,
        talk_seconds: int = 30,
        dtmf: str | None = None,
        ends_in_ivr: bool = False,
    ) -> CallRecord:
        """Play an incoming call: IVR, queue, ringing operators, talk or miss, summary.

        ``abandon_in_ivr``: the caller hangs up in the voice menu. ``ends_in_ivr``: the
        voice menu itself ends the call (1170), summarised as the spec's summary example 2
        (``entry_result`` 1, ``talk_time`` 0).
        """
        return await scenarios.play_inbound(
            self,
            line_number,
            from_number,
            group_id=group_id,
            ring=ring,
            answered_by=answered_by,
            abandon_in_ivr=abandon_in_ivr,
            record=record,
            talk_seconds=talk_seconds,
            dtmf=dtmf,
            ends_in_ivr=ends_in_ivr,
        )

    async def play_live_inbound(
        self,
        line_number: str,
        from_number: str,
        *,
        ring: list[str],
        answered_by: str | None = None,
        group_id: int | None = None,
        ring_timeout: float = 10.0,
        talk_timeout: float = 20.0,
    ) -> CallRecord:
        """Play an incoming call that stays up in real time and carries out
        ``call/hangup``, ``route``, ``transfer`` and ``recording/start`` on its legs.

        With ``answered_by`` that extension picks up at once and the talk lasts until a
        command or :meth:`end_live_call` ends it, at most ``talk_timeout`` seconds; without
        it the legs ring until routed, ended, or missed after ``ring_timeout`` seconds.
        """
        return await scenarios.play_live_inbound(
            self,
            line_number,
            from_number,
            ring=ring,
            answered_by=answered_by,
            group_id=group_id,
            ring_timeout=ring_timeout,
            talk_timeout=talk_timeout,
        )

    def live_call_of(self, call_id: str) -> LiveCall | None:
        """The live call one of whose legs is ``call_id``."""
        for live in self.live_calls.values():
            if call_id in live.player.record.call_ids:
                return live
        return None

    def end_live_call(self, entry_id: str | None = None) -> int:
        """The client hangs up the live call ``entry_id`` (None: every live call): its
        open legs end with 1110 and the summary follows. How many calls were told.
        """
        calls = [c for e, c in self.live_calls.items() if entry_id in (None, e)]
        for live in calls:
            live.give(Order(END))
        return len(calls)

    async def play_sms(self, command_id: str, *, delivered: bool = True) -> None:
        """Post result/sms and then events/sms (delivered: 1000, else 4300)."""
        await scenarios.play_sms(self, command_id, delivered=delivered)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a scenario in the background; :meth:`wait_idle` waits for it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error("MANGO simulator scenario failed", exc_info=error)
            self._errors.append(error)

    async def wait_idle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - public API
        """Wait until every background scenario finished; re-raise the first failure."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._errors:
            error = self._errors.pop(0)
            self._errors.clear()
            raise error

    # posting to the external system -----------------------------------------------
    def encode(self, payload: Any) -> str:
        return encode(payload, escape_unicode=self.escape_unicode)

    def new_command_id(self) -> str:
        self._commands += 1
        return f"cmd.{self._commands}.vpbx.{self.ids.product}.simulator"

    async def pause(self) -> None:
        await asyncio.sleep(self.step_delay)

    async def post(self, path: str, payload: dict[str, Any]) -> int:
        """POST a signed notification to ``webhook_url + "/" + path``; the HTTP status
        answered (0 when nobody answered). Posted twice in the "duplicate" delivery mode.
        """
        status = await self._post_once(path, payload)
        if self.delivery == "duplicate":
            status = await self._post_once(path, payload)
        return status

    async def _post_once(self, path: str, payload: dict[str, Any]) -> int:
        status = 0
        dropped = any(path.startswith(prefix) for prefix in self.drop_webhooks)
        if self.webhook_url and self._session is not None and not dropped:
            url = self.webhook_url.rstrip("/") + "/" + path
            status = await post_signed(
                self._session,
                url,
                self.api_key,
                self.api_salt,
                payload,
                escape_unicode=self.escape_unicode,
            )
        self.posted.append((path, payload, status))
        return status

    async def post_result(self, command: str, command_id: str, result: int) -> None:
        """POST ``result/<command>`` after a short pause."""
        await self.pause()
        await self.post(f"result/{command}", {"command_id": command_id, "result": result})

    async def post_stats_ready(self, key: str, request_id: str | None) -> None:
        """POST ``result/stats`` telling the statistics are ready."""
        await self.pause()
        payload: dict[str, Any] = {"key": key}
        if request_id is not None:
            payload["request_id"] = request_id
        await self.post("result/stats", payload)

    def recording_redirect(self, recording_id: str, action: str) -> Reply:
        """302 to a one-time file URL, or 420 3320 while the recording is not there yet."""
        if not self.recordings.attempt(recording_id):
            return failure(codes.NO_RECORDING)
        token = self.recordings.grant(recording_id, action)
        return Reply(302, headers={"Location": f"{self.root_url}/files/{token}"})


def _clean(path: str) -> str:
    """``/vpbx/commands/callback/`` -> ``commands/callback``."""
    return path.strip("/").removeprefix("vpbx/").strip("/")
