"""The relay provider: any PBX (Asterisk, FreePBX…) whose script posts the relay format.

The PBX only pushes: ``POST /pbx/{account}/calls/{secret}`` with ``create_call`` and
``update_call``. Calls are kept in Redis (:mod:`bot.pbx.relay.call_book`) to turn statuses
into leg events and one summary per call; uploaded recordings are kept in Redis
(:mod:`bot.pbx.relay.recordings`) and streamed to Telegram. Nothing can be asked of the
PBX, so click-to-call, SMS, balance, history and campaigns are unsupported.
"""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import StreamReader
from redis.asyncio import Redis

from bot.domain import utcnow
from bot.events import PbxEvent
from bot.pbx.base import (
    AudioStream,
    Capability,
    Inbound,
    Provider,
    ProviderDeps,
    Reply,
    Route,
    WebhookError,
    WebhookForbidden,
)
from bot.pbx.relay.account import RelayAccount
from bot.pbx.relay.call_book import CallBook, RelayCall, UnknownCall, advance, events_of
from bot.pbx.relay.recordings import RecordingStore, Upload
from bot.pbx.relay.targets import extension_of, group_extensions, targets
from bot.pbx.relay.webhooks import CREATE, RelayRequest, read_body, read_request
from bot.storage.links import LinkRepository


class CallNotFound(WebhookError):
    """An update for a call this account never created (or one long over): 404."""

    status = 404


class RelayProvider(Provider):
    id = "relay"
    account_model = RelayAccount
    name = RelayAccount.pbx_name
    capabilities = frozenset({Capability.RECORDINGS})
    routes = (Route("POST", "/calls/{secret}", "calls"),)
    streams_body = True

    def __init__(self, account: RelayAccount, deps: ProviderDeps) -> None:
        super().__init__(account, deps)
        self.relay_account = account
        self._redis = deps.redis
        self._keys = deps.keys

    # inbound ---------------------------------------------------------------------
    def verify(self, inbound: Inbound) -> None:
        given = inbound.params.get("secret", "").encode()
        expected = self.relay_account.secret.get_secret_value().encode()
        if not hmac.compare_digest(given, expected):
            raise WebhookForbidden("wrong secret")

    async def receive(self, inbound: Inbound, body: StreamReader) -> list[PbxEvent]:
        redis = self._require_redis()
        store = RecordingStore(redis, self._keys, self.account.id)
        fields, upload = await read_body(inbound, body, store)
        try:
            request = read_request(fields, has_audio=upload is not None)
            grouped = group_extensions(self.relay_account, request.group_ids)
            call, recording_id, events = await self._apply(redis, request, upload, grouped)
            answer = await self._answer(redis, call, recording_id)
        finally:
            if upload is not None:
                await store.discard(upload)  # nothing left once kept: it was moved
        inbound.state["relay.answer"] = answer  # acknowledge() sends it
        return events

    def acknowledge(self, inbound: Inbound, events: list[PbxEvent]) -> Reply:
        return Reply(json={"data": inbound.state.get("relay.answer", {})})

    async def _apply(
        self, redis: Redis, request: RelayRequest, upload: Upload | None, grouped: list[str]
    ) -> tuple[RelayCall, str | None, list[PbxEvent]]:
        book = CallBook(redis, self._keys, self.account.id)
        now = utcnow()
        if request.action == CREATE:
            call_id = await book.id_for_new(request.pbx_call_id)
        else:
            try:
                call_id = await book.id_of(request.call_id, request.pbx_call_id)
            except UnknownCall as exc:
                raise CallNotFound(str(exc)) from None
        answerer = await self._answerer(redis, request)
        async with book.locked(call_id):
            call = await book.load(call_id)
            ring: list[str] = []
            if call is None:
                if request.action != CREATE or request.direction is None or not request.phone:
                    raise CallNotFound(f"no call with call_id {call_id}")
                call = RelayCall(
                    call_id=call_id,
                    pbx_call_id=request.pbx_call_id,
                    direction=request.direction,
                    phone=request.phone,
                    created_at=now,
                )
            if request.comment is not None:  # the latest comment sent is the call's
                call.comment = request.comment
                call.comment_version += 1
            if request.action == CREATE:
                links = LinkRepository(redis, self._keys)
                ring = await targets(links, self.account.id, request, grouped)
            elif request.call_status == "ringing" and answerer is not None:
                ring = [answerer]
            advance(
                call,
                request.call_status,
                ring=ring,
                answerer=answerer,
                now=now,
                final=request.is_final,
            )
            recording_id = None
            if upload is not None:
                store = RecordingStore(redis, self._keys, self.account.id)
                recording_id = await store.keep(upload, call_id)
            await book.save(call)
        recordings = [(recording_id, now)] if recording_id else []
        return call, recording_id, events_of(call, self.account.id, request.raw, recordings)

    async def _answerer(self, redis: Redis, request: RelayRequest) -> str | None:
        if request.pbx_user_id is not None:
            return request.pbx_user_id
        if request.user_id is not None:
            links = LinkRepository(redis, self._keys)
            return await extension_of(links, self.account.id, request.user_id)
        return None

    async def _answer(
        self, redis: Redis, call: RelayCall, recording_id: str | None
    ) -> dict[str, Any]:
        """The ``data`` of the format's answer; ``user_id`` is the assignee's Telegram id."""
        extension = call.assignee
        link = (
            await LinkRepository(redis, self._keys).by_extension(self.account.id, extension)
            if extension
            else None
        )
        return {
            "call_id": int(call.call_id),
            "pbx_call_id": call.pbx_call_id,
            "user_id": link.telegram_id if link else None,
            "pbx_user_id": extension,
            "call_status": call.status,
            "audio_record": recording_id,
            "ticket_id": None,
        }

    def _require_redis(self) -> Redis:
        if self._redis is None:
            raise ConnectionError("the relay provider was built without Redis")
        return self._redis

    # outbound --------------------------------------------------------------------
    async def recording(self, recording_id: str) -> AudioStream:
        store = RecordingStore(self._require_redis(), self._keys, self.account.id)
        return await store.open(recording_id)
