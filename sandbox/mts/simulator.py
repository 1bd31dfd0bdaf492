"""The MTS VPBX simulator: a loopback HTTP server speaking the API CRM doc, which posts
event notifications to the bot and plays scripted calls.

Point the account's ``api_url`` at :attr:`MtsSimulator.base_url`. Notifications go to the
callback URL enabled through ``/api/service/apicrm`` (for abonents with a live subscription)
and ``/api/service/webhook`` (for every abonent), with the callback key as ``X-AUTH-TOKEN``.
Subscriptions expire after :attr:`lifetime` seconds (an hour at MTS; tests shorten it), with
a ``SUBSCRIPTION_TERMINATION`` notification.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.mts.models import Abonent, Leg, Posted, ReceivedRequest, Subscription, now_ms
from sandbox.mts.server import build_app
from sandbox.server import SimulatorServer

log = logging.getLogger(__name__)

RECORDING = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 256


class MtsSimulator(SimulatorServer):
    """MTS's side of the API on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        api_token: str = "mts-token",  # noqa: S107 - the sandbox's own token
        *,
        lifetime: float = 3600.0,
        step_delay: float = 0.01,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_token = api_token
        self.lifetime = lifetime
        self.step_delay = step_delay
        super().__init__(host, port)
        self.abonents: dict[int, Abonent] = {}
        self.groups: list[dict[str, Any]] = []
        self.services: dict[str, tuple[str, str | None]] = {}  # apicrm|webhook -> url, key
        self.subscriptions: dict[str, Subscription] = {}
        self.history: list[dict[str, Any]] = []
        self.drop_webhooks = False  # True: call events are not posted (the history has them)
        self.recordings: dict[str, bytes] = {}
        self.recording_misses: dict[str, int] = {}  # answers 404 this many times first
        self.legs: dict[tuple[int, str], Leg] = {}
        self.last_dialled: dict[int, str] = {}
        self.last_caller: dict[int, str] = {}
        # Names the PBX knows numbers by: sent as ``remotePartyName`` with their calls.
        self.caller_names: dict[str, str] = {}
        self.transfers: list[tuple[int, str, str]] = []
        self.requests: list[ReceivedRequest] = []
        self.posted: list[Posted] = []
        self.delivery_errors = 0
        self.auto_answer = True  # click-to-call: the client answers and talks briefly
        self.record_calls = False
        self._failures: dict[tuple[str, str], list[int]] = {}
        self._ids = itertools.count(21289855)
        self._halves = itertools.count(3659100347)
        self._errors: list[BaseException] = []
        self._expiry: asyncio.Task[None] | None = None

    # lifecycle -------------------------------------------------------------------
    def build_app(self) -> web.Application:
        return build_app(self)

    async def start(self) -> None:
        """Listen, and start ending subscriptions whose time is up."""
        await super().start()
        self._expiry = asyncio.create_task(self._expire_loop())

    async def stop(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            await asyncio.wait({self._expiry})
            self._expiry = None
        await super().stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    # setup -----------------------------------------------------------------------
    def add_abonent(self, abonent: Abonent) -> Abonent:
        self.abonents[abonent.user_id] = abonent
        return abonent

    def add_group(self, group_id: int, name: str, parent_id: int | None = None) -> None:
        self.groups.append({"id": group_id, "name": name, "parentId": parent_id})

    def by_extension(self, extension: str) -> Abonent:
        return next(a for a in self.abonents.values() if a.extension == extension)

    def fail_next(self, method: str, path: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests ``method path`` with HTTP ``status``."""
        self._failures.setdefault((method, path), []).extend([status] * times)

    def injected(self, method: str, path: str) -> int | None:
        queue = self._failures.get((method, path))
        return queue.pop(0) if queue else None

    # what the bot did ------------------------------------------------------------
    def calls_to(self, method: str, path: str) -> list[ReceivedRequest]:
        """Requests ``method path`` that were answered (any status)."""
        return [r for r in self.requests if r.method == method and r.path == path]

    def live_subscriptions(self, abonent_id: int) -> list[Subscription]:
        now = time.monotonic()
        return [
            s
            for s in self.subscriptions.values()
            if s.abonent_id == abonent_id and s.expires_at > now
        ]

    def expire(self, abonent_id: int) -> None:
        """End this abonent's subscriptions now, with ``SUBSCRIPTION_TERMINATION``."""
        for sub_id, sub in list(self.subscriptions.items()):
            if sub.abonent_id == abonent_id:
                del self.subscriptions[sub_id]
                self._spawn(self._terminated(abonent_id))

    async def wait_idle(self, patience: float = 10.0) -> None:
        """Wait until every scripted call and notification is done; re-raise their errors."""
        deadline = time.monotonic() + patience
        while self._tasks:
            if time.monotonic() > deadline:
                raise TimeoutError("the MTS simulator did not become idle")
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._errors:
            raise self._errors[0]

    # notifications ---------------------------------------------------------------
    def _targets(self, abonent_id: int | None) -> list[tuple[str, str | None]]:
        targets = []
        apicrm = self.services.get("apicrm")
        if apicrm and (abonent_id is None or self.live_subscriptions(abonent_id)):
            targets.append(apicrm)
        webhook = self.services.get("webhook")
        if webhook and webhook != apicrm:
            targets.append(webhook)
        return targets

    async def post(self, url: str, key: str | None, event: dict[str, Any]) -> int:
        """Post one notification; the HTTP status (0 when nobody answered)."""
        assert self._session is not None
        headers = {"X-AUTH-TOKEN": key} if key is not None else {}
        try:
            async with self._session.post(url, json=event, headers=headers) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        if status != 200:
            self.delivery_errors += 1
        self.posted.append(Posted(url, event, status))
        return status

    async def notify(self, event_type: str, leg: Leg) -> None:
        if self.drop_webhooks:
            return  # lost on the way: only the call history keeps the call
        event = {"eventType": event_type, "abonentId": leg.abonent_id, "payload": leg.payload()}
        for url, key in self._targets(leg.abonent_id):
            await self.post(url, key, event)

    async def probe(self) -> list[int]:
        """``CHECK_ALIVE`` to every enabled callback URL; the answers."""
        return [
            await self.post(url, key, {"eventType": "CHECK_ALIVE"})
            for url, key in self.services.values()
        ]

    def delivered(self, event_type: str, abonent_id: int | None = None) -> list[Posted]:
        return [
            p
            for p in self.posted
            if p.event.get("eventType") == event_type
            and (abonent_id is None or p.event.get("abonentId") == abonent_id)
        ]

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            for sub_id, sub in list(self.subscriptions.items()):
                if sub.expires_at > now:
                    continue
                del self.subscriptions[sub_id]
                await self._terminated(sub.abonent_id)

    async def _terminated(self, abonent_id: int) -> None:
        apicrm = self.services.get("apicrm")
        if apicrm:
            event = {"eventType": "SUBSCRIPTION_TERMINATION", "abonentId": abonent_id}
            await self.post(apicrm[0], apicrm[1], event)

    # calls -----------------------------------------------------------------------
    def _tracking(self) -> str:
        return f"{next(self._ids)}:1"

    def _leg(self, abonent: Abonent, base: str, remote: str, direction: str) -> Leg:
        half = f"callhalf-{next(self._halves)}:0"
        leg = Leg(abonent.user_id, half, f"{base}{half}", remote, direction)
        leg.remote_name = self.caller_names.get(remote, "")
        self.legs[(abonent.user_id, leg.call_id)] = leg
        return leg

    def live_legs(self, user_id: int) -> list[Leg]:
        return [
            leg
            for (uid, _), leg in self.legs.items()
            if uid == user_id and leg.state not in ("Released", "Detached")
        ]

    def leg(self, user_id: int, call_id: str) -> Leg:
        found = self.legs.get((user_id, call_id))
        if found is None or found.state in ("Released", "Detached"):
            raise web.HTTPNotFound(reason="call not found")
        return found

    def release(self, leg: Leg) -> None:
        """End a leg now (hang-up, transfer) and tell the bot."""
        leg.state = "Released"
        leg.end_time = now_ms()
        self._spawn(self.notify("CALL_RELEASED", leg))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                self._errors.append(finished.exception())  # type: ignore[arg-type]

        task.add_done_callback(done)

    async def _step(self) -> None:
        await asyncio.sleep(self.step_delay)

    async def ring_group(
        self,
        client: str,
        extensions: Sequence[str],
        *,
        answered_by: str | None = None,
        talk: float = 0.05,
        record: bool | None = None,
        not_ready: int = 0,
    ) -> str:
        """An outside call from ``client`` (``+7…``) ringing ``extensions`` at once,
        answered by ``answered_by`` (None: nobody). The call's ``extTrackingId`` base."""
        base = self._tracking()
        legs = {
            ext: self._leg(self.by_extension(ext), base, client, "Terminator") for ext in extensions
        }
        for leg in legs.values():
            self.last_caller[leg.abonent_id] = client
            await self.notify("CALL_RECEIVED", leg)
            await self._step()
        answered = legs.get(answered_by) if answered_by else None
        if answered is not None:
            answered.state, answered.answer_time = "Active", now_ms()
            await self.notify("CALL_ANSWERED", answered)
        else:
            await asyncio.sleep(talk)
        for leg in legs.values():
            if leg is not answered:
                leg.state, leg.end_time = "Released", now_ms()
                await self.notify("CALL_RELEASED", leg)
                await self._step()
        if answered is not None:
            await asyncio.sleep(talk)
            answered.state, answered.end_time = "Released", now_ms()
            if self.record_calls if record is None else record:
                self.recordings[answered.ext_tracking_id] = RECORDING
                self.recording_misses[answered.ext_tracking_id] = not_ready
            await self.notify("CALL_RELEASED", answered)
        for leg in legs.values():
            abonent = self.abonents[leg.abonent_id]
            self._remember(leg, client, abonent.phone_number or abonent.extension, "TERMINATING")
        return base

    def dialled(self, user_id: int, number: str) -> Leg:
        """Click-to-call: ring the abonent, then the client (played in the background)."""
        self.last_dialled[user_id] = number
        leg = self._leg(self.abonents[user_id], self._tracking(), number, "Click-to-Dial")
        self._spawn(self._click_to_call(leg))
        return leg

    async def _click_to_call(self, leg: Leg) -> None:
        await self.notify("CALL_ORIGINATED", leg)  # the abonent's phone rings
        await self._step()
        if not self.auto_answer:
            return
        leg.state, leg.answer_time = "Active", now_ms()  # the client answered
        await self.notify("CALL_ANSWERED", leg)
        await asyncio.sleep(self.step_delay * 3)
        leg.state, leg.end_time = "Released", now_ms()
        if self.record_calls:
            self.recordings[leg.ext_tracking_id] = RECORDING
        await self.notify("CALL_RELEASED", leg)
        abonent = self.abonents[leg.abonent_id]
        self._remember(leg, abonent.phone_number or abonent.extension, leg.remote, "ORIGINATING")

    def _remember(self, leg: Leg, calling: str, called: str, direction: str) -> None:
        answered = bool(leg.answer_time)
        self.history.append(
            {
                "enterpriseBwksId": "X214",
                "groupBwksId": "X214G1",
                "departmentBwksId": "",
                "userId": f"{self.abonents[leg.abonent_id].phone_number}@vpbx.mts.ru",
                "callTime": leg.start_time,
                "callingNumber": calling,
                "calledNumber": called,
                "duration": max(0, (leg.end_time - leg.answer_time) // 1000) if answered else 0,
                "direction": direction,
                "status": "PLACED" if answered else "MISSED",
                "answerDuration": max(0, (leg.answer_time - leg.start_time) // 1000),
                "terminationCause": "NORMAL" if answered else "USER_ALERTED_NO_ANSWER",
                "redirectingNumber": "",
                "redirectingReason": None,
                "callGroupId": leg.ext_tracking_id.rsplit("-", 1)[-1].split(":")[0],
                "recordAbonentId": None,
                "abonentName": None,
                "timeZone": "GMT+03:00",
                "extTrackingId": leg.ext_tracking_id,
            }
        )

    def recording_status(self, track: str) -> int:
        """200 when the file is there; 404 while it is not (yet)."""
        if track not in self.recordings:
            return 404
        misses = self.recording_misses.get(track, 0)
        if misses > 0:
            self.recording_misses[track] = misses - 1
            return 404
        return 200
