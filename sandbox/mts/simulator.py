"""The MTS VPBX simulator: a loopback HTTP server speaking the API CRM doc, which posts
event notifications to the bot and plays scripted calls.

Point the account's ``api_url`` at :attr:`MtsSimulator.base_url`. Notifications go to the
callback URL enabled through ``/api/service/apicrm`` (for abonents with a live subscription)
and ``/api/service/webhook`` (for every abonent), with the callback key as ``X-AUTH-TOKEN``.
Subscriptions expire after :attr:`lifetime` seconds (an hour at MTS; tests shorten it), with
a ``SUBSCRIPTION_TERMINATION`` notification.

Scripted calls (:meth:`MtsSimulator.ring_group`, :meth:`MtsSimulator.menu_queue_call`,
click-to-call) play out on their own. Live calls (:meth:`MtsSimulator.play_live_inbound`,
:meth:`MtsSimulator.play_live_outbound`, and click-to-call with
:attr:`MtsSimulator.live_click_to_call`) stay connected until hang-up, a transfer,
:meth:`MtsSimulator.end_live_call` or their timeout; hang-up and transfers work on scripted
calls too.
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

from sandbox.mts.find_me import FindMeBook
from sandbox.mts.history import MENU_USER, QUEUE_USER, leg_row, service_row
from sandbox.mts.models import (
    Abonent,
    Leg,
    LiveCall,
    Posted,
    ReceivedRequest,
    Subscription,
    now_ms,
)
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
        self.enterprise_number = "+79165817777"  # the voice menu's number (section 4.5.1)
        self.queue_extension = "718"  # the queue's number
        self.drop_webhooks = False  # True: call events are not posted (the history has them)
        self.recordings: dict[str, bytes] = {}
        self.recording_misses: dict[str, int] = {}  # answers 404 this many times first
        self.legs: dict[tuple[int, str], Leg] = {}
        self.last_dialled: dict[int, str] = {}
        self.last_caller: dict[int, str] = {}
        # Names the PBX knows numbers by: sent as ``remotePartyName`` with their calls.
        self.caller_names: dict[str, str] = {}
        self.transfers: list[tuple[int, str, str]] = []
        # Live calls: up until a command, end_live_call() or their timeouts (these, by
        # default: seconds ringing unanswered, seconds of talk until the far side hangs up).
        self.live_calls: list[LiveCall] = []
        self.ring_timeout = 10.0
        self.talk_timeout = 20.0
        self.live_click_to_call = False  # True: a click-to-call stays up as a live call
        self.unanswering: set[str] = set()  # extensions that let transferred calls ring
        self.bridged: list[tuple[str, str]] = []  # outside numbers left talking to each other
        self.find_me = FindMeBook()
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
        for call in self.live_calls:
            if call.timer is not None:
                call.timer.cancel()
        self.live_calls.clear()
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
        return [leg for (uid, _), leg in self.legs.items() if uid == user_id and not leg.ended]

    def leg(self, user_id: int, call_id: str) -> Leg:
        found = self.legs.get((user_id, call_id))
        if found is None or found.ended:
            raise web.HTTPNotFound(reason="call not found")
        return found

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
        answered by ``answered_by`` (None: nobody). The call's ``extTrackingId`` base.
        A leg hung up or transferred meanwhile is left as the command left it."""
        base = self._tracking()
        legs = {
            ext: self._leg(self.by_extension(ext), base, client, "Terminator") for ext in extensions
        }
        for leg in legs.values():
            self.last_caller[leg.abonent_id] = client
            await self.notify("CALL_RECEIVED", leg)
            await self._step()
        answered = legs.get(answered_by) if answered_by else None
        if answered is not None and answered.state == "Alerting":
            answered.state, answered.answer_time = "Active", now_ms()
            await self.notify("CALL_ANSWERED", answered)
        else:
            answered = None
            await asyncio.sleep(talk)
        for leg in legs.values():
            if leg is not answered and self._end(leg):
                await self.notify("CALL_RELEASED", leg)
                await self._step()
        if answered is not None:
            await asyncio.sleep(talk)
            if self._end(answered):
                if self.record_calls if record is None else record:
                    self.recordings[answered.base] = RECORDING
                    self.recording_misses[answered.base] = not_ready
                await self.notify("CALL_RELEASED", answered)
        for leg in legs.values():
            self._remember(leg)
        return base

    async def menu_queue_call(
        self,
        client: str,
        agents: Sequence[str],
        *,
        answered_by: str | None = None,
        talk: float = 0.05,
    ) -> str:
        """The call of section 4.5.1: ``client`` (``+7…``) calls :attr:`enterprise_number`,
        the voice menu takes it, the client presses 2 and the queue
        (:attr:`queue_extension`) rings ``agents`` one after another, each declining
        (``USER_BUSY``) until ``answered_by`` picks up (None: nobody does, and the client
        hangs up in the queue). The agents' legs bring their events; the menu and the queue
        are services, seen only in the call history as ``PLACED`` with ``answerDuration`` 0.
        The call's ``extTrackingId`` base."""
        base, menu, start = self._tracking(), str(next(self._halves)), now_ms()
        await self._step()  # the menu plays; the client presses 2
        queue, queued = str(next(self._halves)), now_ms()
        rows: list[dict[str, Any]] = []
        previous = self.enterprise_number  # who put the call to the agent (lines 445, 473)
        for extension in agents:
            leg = self._leg(self.by_extension(extension), base, client, "Terminator")
            leg.redirecting_number, leg.in_history = previous, True  # its row is below
            self.last_caller[leg.abonent_id] = client
            await self.notify("CALL_RECEIVED", leg)
            await self._step()
            picks_up = extension == answered_by and leg.state == "Alerting"
            if picks_up:
                leg.state, leg.answer_time = "Active", now_ms()
                await self.notify("CALL_ANSWERED", leg)
                await asyncio.sleep(talk)
            if self._end(leg):
                if picks_up and self.record_calls:
                    self.recordings[leg.base] = RECORDING
                await self.notify("CALL_RELEASED", leg)
            own = self._own_number(leg.abonent_id)
            # The doc's answered agent row names the queue as the caller (line 466).
            calling = self.queue_extension if picks_up else None
            rows.append(
                leg_row(
                    leg, own, calling=calling, reason="CALL_CENTER", group=queue, cause="USER_BUSY"
                )
            )
            if picks_up:
                break
            previous = own
        else:
            await asyncio.sleep(talk)  # the client waits in the queue, then hangs up
        end = now_ms()
        self.history += [
            service_row(
                MENU_USER,
                f"{base}callhalf-{menu}:0",
                start=start,
                end=end,
                calling=client,
                called=self.enterprise_number,
                group=menu,
            ),
            service_row(
                QUEUE_USER,
                f"{base}callhalf-{queue}:0",
                start=queued,
                end=end,
                calling=client,
                called=self.queue_extension,
                group=menu,
                redirecting=self.enterprise_number,
                reason="DEFLECTION",
            ),
            *rows,
        ]
        return base

    def dialled(self, user_id: int, number: str) -> Leg:
        """Click-to-call: ring the abonent, then the client (played in the background)."""
        self.last_dialled[user_id] = number
        leg = self._leg(self.abonents[user_id], self._tracking(), number, "Click-to-Dial")
        if self.live_click_to_call:
            self._keep(LiveCall(leg.base, leg, [number], self.ring_timeout, self.talk_timeout))
        self._spawn(self._click_to_call(leg))
        return leg

    async def _click_to_call(self, leg: Leg) -> None:
        await self.notify("CALL_ORIGINATED", leg)  # the abonent's phone rings
        await self._step()
        if not self.auto_answer or leg.state != "Alerting":
            return
        live = self._live_call(leg)
        if live is not None:
            await self._connect(live)  # the client answered; the call stays up
            return
        leg.state, leg.answer_time = "Active", now_ms()  # the client answered
        await self.notify("CALL_ANSWERED", leg)
        await asyncio.sleep(self.step_delay * 3)
        if not self._end(leg):
            return  # hung up or transferred meanwhile
        if self.record_calls:
            self.recordings[leg.base] = RECORDING
        await self.notify("CALL_RELEASED", leg)
        self._remember(leg)

    # live calls ------------------------------------------------------------------
    async def play_live_inbound(
        self,
        client: str,
        *,
        ring: Sequence[str],
        answered_by: str | None = None,
        ring_timeout: float | None = None,
        talk_timeout: float | None = None,
    ) -> LiveCall:
        """An outside call from ``client`` (``+7…``) ringing the extensions in ``ring``
        that stays up in real time (see :class:`LiveCall`). ``answered_by`` picks up at
        once (the others stop ringing); without it the legs ring until a command or
        ``ring_timeout``. Returns once the call is ringing or answered; the legs' ``call_id``
        is what hang-up and transfers take. Timeouts default to :attr:`ring_timeout` and
        :attr:`talk_timeout`."""
        if answered_by is not None and answered_by not in ring:
            raise ValueError(f"{answered_by} is not among the extensions rung")
        base = self._tracking()
        legs = [self._leg(self.by_extension(ext), base, client, "Terminator") for ext in ring]
        call = LiveCall(
            base,
            client,
            list(legs),
            self.ring_timeout if ring_timeout is None else ring_timeout,
            self.talk_timeout if talk_timeout is None else talk_timeout,
        )
        self._keep(call)
        for leg in legs:
            self.last_caller[leg.abonent_id] = client
            await self.notify("CALL_RECEIVED", leg)
            await self._step()
        if answered_by is not None:
            await self._connect(call, legs[list(ring).index(answered_by)])
        return call

    async def play_live_outbound(
        self,
        extension: str,
        number: str,
        *,
        ring_timeout: float | None = None,
        talk_timeout: float | None = None,
    ) -> LiveCall:
        """The abonent at ``extension`` dials ``number`` (``+7…``, or a colleague's
        extension) on the phone; the other side answers (a colleague in
        :attr:`unanswering` lets it ring) and the call stays up as a
        :meth:`play_live_inbound` one. The abonent's connected calls go on hold first, as
        a phone does before a consultation (no event: the doc has none for hold)."""
        abonent = self.by_extension(extension)
        for other in self.live_legs(abonent.user_id):
            if other.state == "Active":
                other.state = "Held"
        base = self._tracking()
        leg = self._leg(abonent, base, number, "Originator")
        self.last_dialled[abonent.user_id] = number
        callee = next((a for a in self.abonents.values() if a.extension == number), None)
        far: Leg | str = number
        if callee is not None:
            far = self._leg(callee, base, abonent.extension, "Terminator")
            self.last_caller[callee.user_id] = abonent.extension
        call = LiveCall(
            base,
            leg,
            [far],
            self.ring_timeout if ring_timeout is None else ring_timeout,
            self.talk_timeout if talk_timeout is None else talk_timeout,
        )
        self._keep(call)
        await self.notify("CALL_ORIGINATED", leg)
        await self._step()
        if isinstance(far, str):
            await self._connect(call)
            return call
        await self.notify("CALL_RECEIVED", far)
        await self._step()
        if number not in self.unanswering:
            await self._connect(call, far)
        return call

    def end_live_call(self, call: LiveCall | Leg | None = None) -> int:
        """The far side hangs up ``call`` (or the call of a leg; None: every live call):
        its abonents' legs are released with ``CALL_RELEASED`` in the background (see
        :meth:`wait_idle`). How many calls ended."""
        calls = [
            live
            for live in self.live_calls
            if call is None or live is call or (isinstance(call, Leg) and live.has(call))
        ]
        for live in calls:
            self._spawn(self._released(*self._close(live)))
        return len(calls)

    async def _connect(self, call: LiveCall, picked: Leg | None = None) -> None:
        """``picked`` (one of the called legs; None: the outside number) answers: the other
        legs stop ringing, the caller's leg is connected and the talk timeout starts."""
        if call not in self.live_calls:
            return  # ended or merged meanwhile
        rest: list[Leg] = []
        if picked is not None:
            if picked.state != "Alerting" or not call.has(picked):
                return
            picked.state, picked.answer_time = "Active", now_ms()
            rest = [end for end in call.called if isinstance(end, Leg) and end is not picked]
            call.called = [picked]
        call.talking = True
        self._keep(call)
        if picked is not None:
            await self.notify("CALL_ANSWERED", picked)
        caller = call.caller
        if isinstance(caller, Leg) and caller.state == "Alerting":
            caller.state, caller.answer_time = "Active", now_ms()
            await self.notify("CALL_ANSWERED", caller)
        await self._released(*[leg for leg in rest if self._end(leg)])

    def _live_call(self, leg: Leg) -> LiveCall | None:
        return next((call for call in self.live_calls if call.has(leg)), None)

    def _call_of(self, leg: Leg) -> LiveCall:
        """The live call of ``leg``; for a scripted call's leg, one with its remote party
        (not kept unless a command keeps it)."""
        live = self._live_call(leg)
        if live is not None:
            return live
        inbound = leg.direction == "Terminator"
        caller, called = (leg.remote, leg) if inbound else (leg, leg.remote)
        talking = leg.state != "Alerting"
        return LiveCall(
            leg.base, caller, [called], self.ring_timeout, self.talk_timeout, talking=talking
        )

    def _keep(self, call: LiveCall) -> None:
        """Keep ``call`` up (again) for its ring or talk timeout."""
        if call not in self.live_calls:
            self.live_calls.append(call)
        if call.timer is not None:
            call.timer.cancel()
        seconds = call.talk_timeout if call.talking else call.ring_timeout
        call.timer = asyncio.get_running_loop().call_later(seconds, self._time_up, call)

    def _drop(self, call: LiveCall) -> None:
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None
        if call in self.live_calls:
            self.live_calls.remove(call)

    def _time_up(self, call: LiveCall) -> None:
        self._spawn(self._released(*self._close(call)))

    def _close(self, call: LiveCall, first: Leg | None = None) -> list[Leg]:
        """Take ``call`` down now; the legs this released (``first`` first), for
        :meth:`_released` to announce."""
        self._drop(call)
        return self._end_all([first] if first is not None else [], call.ends)

    def _end_all(self, first: list[Leg], *groups: list[Leg | str]) -> list[Leg]:
        """Release ``first`` and every leg in ``groups``, in that order; those released."""
        legs = list(first)
        for group in groups:
            legs += [end for end in group if isinstance(end, Leg) and end not in legs]
        return [leg for leg in legs if self._end(leg)]

    def _end(self, leg: Leg) -> bool:
        """Release ``leg`` now; False when it had ended already."""
        if leg.ended:
            return False
        leg.state, leg.end_time = "Released", now_ms()
        return True

    async def _released(self, *legs: Leg) -> None:
        """Announce released legs one after another and write them to the call history."""
        for leg in legs:
            if leg.answer_time and self.record_calls:
                self.recordings[leg.base] = RECORDING
            await self.notify("CALL_RELEASED", leg)
            self._remember(leg)
            await self._step()

    def _address(self, end: Leg | str) -> str:
        """How the PBX shows ``end`` as a remote party: a colleague by extension."""
        return end if isinstance(end, str) else self.abonents[end.abonent_id].extension

    def _face(self, leg: Leg, end: Leg | str) -> None:
        """``leg`` talks to ``end`` from now on (a held call resumes). No event: the doc
        has none for a new remote party; ``GET …/calls/{callId}`` shows it."""
        leg.remote = self._address(end)
        leg.remote_name = self.caller_names.get(leg.remote, "")
        if leg.state == "Held":
            leg.state = "Active"

    def _own_number(self, user_id: int) -> str:
        abonent = self.abonents[user_id]
        return abonent.phone_number or abonent.extension

    def _destination(self, address: str) -> tuple[Abonent | None, str]:
        """Whom a transfer ``address`` reaches: an abonent (by extension, or a mobile
        abonent by 8 and ten digits) or an outside number (as ``+7…``); 404 for an
        extension nobody has."""
        if len(address) == 11:
            number = "+7" + address[1:]
            mobile = next((a for a in self.abonents.values() if a.phone_number == number), None)
            return mobile, number
        found = next((a for a in self.abonents.values() if a.extension == address), None)
        if found is None:
            raise web.HTTPNotFound(reason="no abonent with this extension")
        return found, address

    # commands (4.8.4-4.8.6) ------------------------------------------------------
    def hang_up(self, leg: Leg) -> None:
        """The abonent of ``leg`` hangs up. A ringing leg among several declines alone;
        otherwise the call ends, a colleague on the other end released too."""
        call = self._call_of(leg)
        if leg is not call.caller and not call.talking and len(call.called) > 1:
            call.called = [end for end in call.called if end is not leg]
            self._spawn(self._released(*self._end_all([leg])))
            return
        self._spawn(self._released(*self._close(call, leg)))

    def blind_transfer(self, leg: Leg, address: str) -> None:
        """The abonent of ``leg`` drops out (with any leg still ringing beside it) and the
        party it talked to is put through to ``address`` (an extension, or 8 and ten
        digits). An abonent there gets a new leg of the same call that rings and is
        answered (unless in :attr:`unanswering`: then it rings until the ring timeout and
        the call ends); an outside number takes over at once (:attr:`bridged` when the
        party is outside too)."""
        target, number = self._destination(address)
        call = self._call_of(leg)
        other = call.other(leg)
        released = self._end_all([leg], [end for end in call.ends if end is not other])
        self.transfers.append((leg.abonent_id, leg.call_id, address))
        if target is None:
            if isinstance(other, str):
                self._drop(call)
                self.bridged.append((other, number))
            else:
                self._face(other, number)
                call.caller, call.called, call.talking = other, [number], True
                self._keep(call)
            self._spawn(self._released(*released))
            return
        new = self._leg(target, call.base, self._address(other), "Terminator")
        new.redirecting_number = self._own_number(leg.abonent_id)
        self.last_caller[target.user_id] = new.remote
        if isinstance(other, Leg):
            self._face(other, new)
        call.caller, call.called, call.talking = other, [new], False
        self._keep(call)
        self._spawn(self._ring_transferred(released, call, new))

    async def _ring_transferred(self, released: list[Leg], call: LiveCall, new: Leg) -> None:
        await self._released(*released)
        await self.notify("CALL_RECEIVED", new)
        await self._step()
        if self.abonents[new.abonent_id].extension not in self.unanswering:
            await self._connect(call, new)

    def consult_transfer(self, first: Leg, second: Leg) -> None:
        """The abonent's two calls become one: the party of ``first`` (usually on hold)
        talks to the party of ``second``; the abonent's legs are released. Colleagues on
        either end stay on with the new remote party (no event for that)."""
        one, two = self._call_of(first), self._call_of(second)
        if first is second or one is two:
            raise web.HTTPBadRequest(reason="two different calls of the abonent expected")
        near, far = one.other(first), two.other(second)
        released = self._end_all(
            [first, second],
            [end for end in one.ends if end is not near],
            [end for end in two.ends if end is not far],
        )
        self.transfers.append((first.abonent_id, first.call_id, second.call_id))
        self._drop(two)
        if isinstance(near, Leg):
            self._face(near, far)
        if isinstance(far, Leg):
            self._face(far, near)
        ringing = far if isinstance(far, Leg) and far.state == "Alerting" else None
        if isinstance(near, str) and isinstance(far, str):
            self._drop(one)
            self.bridged.append((near, far))
        else:
            one.caller, one.called, one.talking = near, [far], ringing is None
            self._keep(one)
        if ringing is not None and self._address(ringing) in self.unanswering:
            ringing = None  # rings on until the ring timeout
        self._spawn(self._joined(released, one, ringing))

    async def _joined(self, released: list[Leg], call: LiveCall, answers: Leg | None) -> None:
        await self._released(*released)
        if answers is not None:  # the consulted colleague had not picked up yet
            await self._connect(call, answers)

    def _remember(self, leg: Leg) -> None:
        """Write an ended leg to the call history (once)."""
        if leg.in_history:
            return
        leg.in_history = True
        self.history.append(leg_row(leg, self._own_number(leg.abonent_id)))

    def recording_status(self, track: str) -> int:
        """200 when the file is there; 404 while it is not (yet). Files are kept under the
        conversation's id, the ``extTrackingId`` up to ``callhalf-`` (section 4.9's
        example is ``11122233:1``)."""
        if track not in self.recordings:
            return 404
        misses = self.recording_misses.get(track, 0)
        if misses > 0:
            self.recording_misses[track] = misses - 1
            return 404
        return 200
