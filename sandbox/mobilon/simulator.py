"""The Mobilon VPBX simulator: a loopback HTTP server speaking the doc's API, plus
scripted calls that call the bot's webhook the way Mobilon does.

Point the account's ``api_url`` at :attr:`MobilonSimulator.base_url` and set
:attr:`MobilonSimulator.webhook_url` to the address an admin would enter in Mobilon,
``…/incoming?number={NUMBER}&key={KEY}``: each ring of an employee requests it with the
caller's number and that employee's key substituted. A call appears in call info and the
journal once it is over, with ``record_url`` when it was recorded, in the doc's XML with
``time`` in :attr:`MobilonSimulator.zone` (Moscow unless ``zone`` names another).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from sandbox.mobilon.calls import CallIds, SimCall, Subscriber, now_msk
from sandbox.mobilon.server import NUMBER, ReceivedRequest, build_app, fail
from sandbox.server import SimulatorServer

log = logging.getLogger(__name__)

LINE = "74950000000"  # the company's number: ``to`` of calls nobody answered
TIMEOUT = aiohttp.ClientTimeout(total=10)


class MobilonSimulator(SimulatorServer):
    """Mobilon's side of the API on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        token: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        webhook_method: Literal["GET", "POST"] = "GET",
        step_delay: float = 0.01,
        zone: str = "Europe/Moscow",
    ) -> None:
        self.token = token
        self.zone = ZoneInfo(zone)  # the PBX's clock: ``time`` and the journal's days
        super().__init__(host, port)
        self.webhook_url = webhook_url
        self.webhook_method = webhook_method
        self.step_delay = step_delay
        self.line = LINE
        self.subscribers: dict[str, Subscriber] = {}  # by key
        self.calls: dict[str, SimCall] = {}
        self.requests: list[ReceivedRequest] = []
        self.webhooks: list[tuple[str, str, int]] = []  # (number, extension, HTTP status)
        self.drop_webhooks = False  # True: rings call no webhook (the journal has the call)
        self.failures: dict[str, tuple[int, dict[str, Any] | str]] = {}
        self.recording_ready_after = 0  # record_url answers 404 this many times first
        # How calls placed with CallToSubscriber end, a moment after they start (unless
        # ``outbound_ends`` is False: then the test ends them with :meth:`finish`).
        self.outbound_ends = True
        self.outbound_answered = True
        self.outbound_talk = 42
        self.outbound_recorded = True
        self.ids = CallIds()

    # lifecycle --------------------------------------------------------------------
    post_timeout = TIMEOUT

    def build_app(self) -> web.Application:
        return build_app(self)

    @property
    def base_url(self) -> str:
        """What to put in the account's ``api_url``."""
        return f"http://{self.host}:{self.port}/"

    # set-up -----------------------------------------------------------------------
    def add_subscriber(self, subscriber: Subscriber) -> None:
        self.subscribers[subscriber.key] = subscriber

    def key_of(self, extension: str) -> str:
        return next(s.key for s in self.subscribers.values() if s.extension == extension)

    def fail_next(self, path: str, *, code: int | None = None, http_status: int = 200) -> None:
        """Answer the next request to ``path`` (e.g. ``/api/call/CallToSubscriber``) with the
        doc's failure ``code``, or an empty error with ``http_status``."""
        body = fail(code) if code is not None else {"result": "FAIL"}
        self.failures[path] = (http_status, body)

    def answer_next(self, path: str, body: str, *, http_status: int = 200) -> None:
        """Answer the next request to ``path`` with ``body`` as XML (e.g. a malformed one)."""
        self.failures[path] = (http_status, body)

    # what the bot sent ------------------------------------------------------------
    def received(self, path: str) -> list[dict[str, str]]:
        """Query parameters of every request to ``path``, in order."""
        return [r.query for r in self.requests if r.path == path]

    def calls_to_subscriber(self) -> list[dict[str, str]]:
        return self.received("/api/call/CallToSubscriber")

    def day_of(self, call: SimCall) -> str:
        """The journal ``date`` ``call`` is filed under."""
        return call.day_in(self.zone)

    # the API ----------------------------------------------------------------------
    def call_to_subscriber(self, key: str, query: Mapping[str, str]) -> dict[str, Any]:
        """The answer to ``CallToSubscriber``; on success the call starts."""
        subscriber = self.subscribers.get(key)
        number = query.get("outboundNumber", "")
        if subscriber is None:
            return fail(2)
        if not subscriber.has_subscriber:
            return fail(5)
        if not subscriber.registered:
            return fail(1)
        if not NUMBER.match(number):
            return fail(3)
        call = SimCall(
            callid=self.ids.next(),
            direction="outbound",
            caller=subscriber.extension,
            callee=number,
            started=now_msk(),
            rang=[subscriber.extension],
        )
        self.calls[call.callid] = call
        if self.outbound_ends:
            self._spawn(self._end_outbound(call))
        return {
            "result": "SUCCESS",
            "description": "Call had been initialised",
            "code": 0,
            "callid": call.callid,
        }

    async def _end_outbound(self, call: SimCall) -> None:
        await asyncio.sleep(self.step_delay)
        self.finish(
            call,
            answered_by=call.caller if self.outbound_answered else None,
            talk=self.outbound_talk,
            record=self.outbound_recorded,
        )

    # scenarios --------------------------------------------------------------------
    async def ring(self, number: str, extensions: list[str], *, waited: int = 0) -> SimCall:
        """A client calls in; the PBX rings ``extensions`` (the webhook once for each).
        ``waited``: seconds the caller spent in a voice menu before the first ring."""
        call = SimCall(
            callid=self.ids.next(),
            direction="inbound",
            caller=number,
            callee=self.line,
            started=now_msk() - timedelta(seconds=waited),
        )
        self.calls[call.callid] = call
        await self.ring_more(call, extensions)
        return call

    async def ring_more(self, call: SimCall, extensions: list[str]) -> None:
        """The call goes on to ring more employees (a hunt group's next step)."""
        for extension in extensions:
            call.rang.append(extension)
            dropped = self.drop_webhooks  # lost on the way: only the journal keeps the call
            status = 0 if dropped else await self.notify(call.caller, self.key_of(extension))
            self.webhooks.append((call.caller, extension, status))
            await asyncio.sleep(self.step_delay)

    def finish(
        self, call: SimCall, *, answered_by: str | None, talk: int = 30, record: bool = True
    ) -> None:
        """The call ends: answered by ``answered_by`` after ``talk`` seconds, or by nobody.
        From now on call info and the journal show it."""
        elapsed = int((now_msk() - call.started).total_seconds())
        call.duration = max(0, elapsed) + (talk if answered_by else 0)
        call.status = "ANSWERED" if answered_by else "NO ANSWER"
        if call.direction == "inbound":
            call.callee = answered_by or self.line
        call.recorded = bool(answered_by) and record

    async def play_inbound(
        self,
        number: str,
        ring: list[str],
        *,
        answered_by: str | None = None,
        talk: int = 30,
        record: bool = True,
    ) -> SimCall:
        """A whole incoming call: rings, then its end."""
        call = await self.ring(number, ring)
        await asyncio.sleep(self.step_delay)
        self.finish(call, answered_by=answered_by, talk=talk, record=record)
        return call

    async def notify(self, number: str, key: str) -> int:
        """Request the webhook with ``{NUMBER}`` and ``{KEY}`` substituted; its HTTP
        status, 0 when nobody answered."""
        if self.webhook_url is None or self._session is None:
            raise RuntimeError("set webhook_url and start the simulator first")
        url = self.webhook_url.replace("{NUMBER}", quote(number, safe="")).replace(
            "{KEY}", quote(key, safe="")
        )
        try:
            async with self._session.request(self.webhook_method, url) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.info("Mobilon simulator could not reach the webhook: %s", exc.__class__.__name__)
            return 0

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
