"""MTS notifications (section 4.7): the token check, the doc's sample payload, and the
answers of the real web tier (403 wrong token, 400 malformed, 200 CHECK_ALIVE at once, 200
and a count for a type the doc does not list)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from redis.asyncio import Redis

from bot.config import Settings
from bot.events import CallLegEvent, Direction, LegState, Party, RecordingEvent
from bot.metrics import Metrics
from bot.pbx.base import Inbound, WebhookForbidden, WebhookMalformed
from bot.pbx.mts.abonents import Abonent, Abonents
from bot.pbx.mts.account import MtsAccount
from bot.pbx.mts.provider import MtsProvider
from bot.pbx.mts.state import Subscription
from bot.pbx.mts.webhooks import Ignored, call_id_of, read, to_events, verify_token
from bot.pbx.providers import Providers
from bot.pipeline.ingest import add_ingest_routes
from bot.pipeline.sessions import CallSession
from bot.pipeline.stream import EventStream, decode_event
from bot.storage import Keys
from bot.web import build_web_app
from sandbox.mts import Abonent as SimAbonent
from sandbox.mts import MtsSimulator

KEY = "callback-key-123"
MTS: dict[str, Any] = {
    "id": "mts",
    "provider": "mts",
    "api_token": "mts-token",
    "callback_key": KEY,
}
# Section 4.7, with the event type quoted (the doc prints it bare, which is not JSON).
DOC_SAMPLE = {
    "eventType": "CALL_ORIGINATED",
    "abonentId": 0,
    "payload": {
        "callId": "string",
        "extTrackingId": "",
        "state": "string",
        "remotePartyName": "string",
        "remotePartyAddress": "string",
        "callDirection": "string",
        "startTime": 0,
        "answerTime": 0,
        "endTime": 0,
    },
}
ANNA = Abonent(user_id=1735, extension="101", first_name="Anna", phone_number="+79991112233")
BORIS = Abonent(user_id=1736, extension="102", first_name="Boris")
RECEIVED = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)


def inbound(body: object, token: str | None = KEY) -> Inbound:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"X-Auth-Token": token} if token is not None else {}
    return Inbound(route="events", method="POST", headers=headers, query={}, body=raw)


def events_of(body: dict[str, Any], *, recordings: bool = False) -> list[Any]:
    note, raw = read(inbound(body))
    return to_events(
        note, raw, "mts", Abonents([ANNA, BORIS]), received_at=RECEIVED, recordings=recordings
    )


def call(event_type: str, user: int, **payload: Any) -> dict[str, Any]:
    body = {
        "callId": "callhalf-3659100355:0",
        "extTrackingId": "20105616:1callhalf-3659100355:0",
        "state": "Alerting",
        "remotePartyName": "",
        "remotePartyAddress": "tel:+79121112233",
        "callDirection": "Terminator",
        "startTime": 1603880185000,
        "answerTime": 0,
        "endTime": 0,
    }
    return {"eventType": event_type, "abonentId": user, "payload": {**body, **payload}}


# the token --------------------------------------------------------------------------------
def test_the_callback_key_is_required_whatever_the_header_case() -> None:
    verify_token(inbound({}, KEY), KEY)
    verify_token(Inbound("events", "POST", {"x-auth-token": KEY}, {}, b""), KEY)
    for wrong in ("", "callback-key-124", None):
        with pytest.raises(WebhookForbidden):
            verify_token(inbound({}, wrong), KEY)


# parsing --------------------------------------------------------------------------------
def test_the_doc_sample_becomes_a_leg_of_an_unknown_abonent() -> None:
    [event] = events_of(DOC_SAMPLE)

    assert isinstance(event, CallLegEvent)
    assert event.state is LegState.RINGING
    assert event.leg_id == "0:string"
    assert event.call_id == "0:string"  # no extTrackingId: the leg is its own call
    assert event.at == RECEIVED  # startTime 0 means unknown
    assert event.raw == DOC_SAMPLE


def test_a_received_call_rings_the_abonent_from_the_client() -> None:
    [event] = events_of(call("CALL_RECEIVED", ANNA.user_id))

    assert isinstance(event, CallLegEvent)
    assert event.call_id == "20105616:1"
    assert event.leg_id == "1735:callhalf-3659100355:0"
    assert event.caller == Party(number="+79121112233")
    assert event.callee == Party(extension="101")
    assert event.state is LegState.RINGING
    assert event.at == datetime.fromtimestamp(1603880185, UTC)


def test_answered_then_released_legs_order_by_seq() -> None:
    ringing, answered, held, released = (
        events_of(call(kind, ANNA.user_id, state=state, answerTime=1603880190000))[0]
        for kind, state in (
            ("CALL_RECEIVED", "Alerting"),
            ("CALL_ANSWERED", "Active"),
            ("CALL_ANSWERED", "Held"),
            ("CALL_RELEASED", "Released"),
        )
    )
    assert [answered.state, held.state, released.state] == [
        LegState.CONNECTED,
        LegState.ON_HOLD,
        LegState.DISCONNECTED,
    ]
    assert ringing.seq < answered.seq <= held.seq < released.seq
    assert ringing.dedupe_key == events_of(call("CALL_RECEIVED", ANNA.user_id))[0].dedupe_key


def test_a_click_to_dial_call_is_outbound_from_the_abonent() -> None:
    [event] = events_of(call("CALL_ORIGINATED", BORIS.user_id, callDirection="Click-to-Dial"))
    session = CallSession(account="mts", call_id=event.call_id)
    session.apply_leg(event)

    assert event.caller == Party(extension="102")
    assert event.callee == Party(number="+79121112233")
    assert session.direction is Direction.OUTBOUND
    assert session.client_number == "+79121112233"


def test_a_colleague_on_the_other_end_is_named_by_extension() -> None:
    [event] = events_of(
        call("CALL_ORIGINATED", ANNA.user_id, callDirection="Originator", remotePartyAddress="102")
    )
    assert event.callee == Party(extension="102")


def test_an_answered_leg_that_ends_brings_its_recording_when_the_pbx_records() -> None:
    body = call("CALL_RELEASED", ANNA.user_id, state="Released", answerTime=1603880190000)

    leg, recording = events_of(body, recordings=True)
    assert isinstance(leg, CallLegEvent)
    assert isinstance(recording, RecordingEvent)
    assert recording.recording_id == "20105616:1"  # the conversation's (see below)
    assert recording.call_id == "20105616:1"
    assert recording.extension == "101"
    assert len(events_of(body)) == 1  # recordings off
    missed = call("CALL_RELEASED", ANNA.user_id, state="Released")
    assert len(events_of(missed, recordings=True)) == 1  # nobody talked: nothing recorded


def test_call_ids_group_the_halves_of_one_call() -> None:
    assert call_id_of("20105616:1callhalf-3659100355:0") == "20105616:1"
    assert call_id_of("20105616:1callhalf-3659110915:0") == "20105616:1"
    assert call_id_of("21289855:1") == "21289855:1"


def test_the_recording_is_named_as_section_4_9_names_it() -> None:
    """Section 4.9 fetches ``callRecording/mp3/{extTrackingId}``, "идентификатор
    разговора" (lines 949, 952), with the example ``11122233:1`` (line 958; line 935 for
    the original file): the plain form of the call history's ``"21289855:1"`` (line 254),
    not a call half's ``"20105616:1callhalf-3659097569:0"`` (line 393). A call whose
    events carry the plain form keeps it; the two agents who talked on one call get the
    same recording, one event each."""
    plain = call("CALL_RELEASED", ANNA.user_id, state="Released", answerTime=1603880190000)
    plain["payload"]["extTrackingId"] = "11122233:1"
    [_, recording] = events_of(plain, recordings=True)
    assert isinstance(recording, RecordingEvent)
    assert recording.recording_id == "11122233:1"

    halves = [
        call("CALL_RELEASED", user, state="Released", answerTime=1603880190000, **ids)
        for user, ids in (
            (ANNA.user_id, {"extTrackingId": "20105616:1callhalf-3659100355:0"}),
            (BORIS.user_id, {"extTrackingId": "20105616:1callhalf-3659110915:0"}),
        )
    ]
    anna, boris = (events_of(body, recordings=True)[1] for body in halves)
    assert anna.recording_id == boris.recording_id == "20105616:1"
    assert anna.dedupe_key != boris.dedupe_key
    assert (anna.extension, boris.extension) == ("101", "102")


def test_the_remote_party_s_name_is_kept_from_the_doc_sample() -> None:
    """Section 4.7's sample sends ``"remotePartyName": "string"`` beside
    ``"remotePartyAddress": "string"`` (lines 683-684), "имя удаленной стороны вызова"
    (line 717). Its ``callDirection`` is no documented value, so the remote party is the
    one called; on a ``Terminator`` leg (line 721) it is the caller. The field list spells
    the address ``remotePartyAdress`` (line 718): read as well."""
    [event] = events_of(DOC_SAMPLE)
    assert isinstance(event, CallLegEvent)
    assert event.callee == Party(number="string", name="string")

    named = call("CALL_RECEIVED", ANNA.user_id, remotePartyName="  Иван Кузнецов ")
    [ringing] = events_of(named)
    assert isinstance(ringing, CallLegEvent)
    assert ringing.caller == Party(number="+79121112233", name="Иван Кузнецов")

    misspelt = call("CALL_RECEIVED", ANNA.user_id, remotePartyName="Иван Кузнецов")
    misspelt["payload"]["remotePartyAdress"] = misspelt["payload"].pop("remotePartyAddress")
    [ringing] = events_of(misspelt)
    assert isinstance(ringing, CallLegEvent)
    assert ringing.caller == Party(number="+79121112233", name="Иван Кузнецов")

    colleague = call("CALL_RECEIVED", ANNA.user_id, remotePartyAddress="102")
    [internal] = events_of(
        {**colleague, "payload": {**colleague["payload"], "remotePartyName": "Boris"}}
    )
    assert isinstance(internal, CallLegEvent)
    assert internal.caller == Party(extension="102")  # a colleague is named by the directory


@pytest.mark.parametrize("event_type", ["CALL_PARKED", "call_received", "CHECK_ALIVE_V2"])
def test_a_type_the_doc_does_not_list_is_read_as_ignored(event_type: str) -> None:
    """Section 4.7 lists six types (lines 695-704); anything else is no call event to
    store, whatever its payload, and no malformed body either."""
    body = {"eventType": event_type, "abonentId": "x", "payload": {"anything": [1, 2]}}
    note, raw = read(inbound(body))
    assert note == Ignored(event_type)
    assert raw == body
    assert to_events(note, raw, "mts", Abonents([ANNA]), received_at=RECEIVED) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"abonentId": 1}).encode(),
        json.dumps({"eventType": None, "abonentId": 1}).encode(),
        json.dumps({"eventType": 7}).encode(),
        json.dumps({"eventType": " "}).encode(),
        json.dumps({"eventType": "CALL_RECEIVED", "abonentId": 1}).encode(),
        json.dumps({"eventType": "CALL_RECEIVED", "abonentId": 1, "payload": {}}).encode(),
        json.dumps({"eventType": "SUBSCRIPTION_TERMINATION"}).encode(),
    ],
)
def test_malformed_notifications_are_refused(body: bytes) -> None:
    with pytest.raises(WebhookMalformed):
        read(inbound(body))


# the web tier ---------------------------------------------------------------------------
@pytest_asyncio.fixture
async def pbx() -> AsyncIterator[MtsSimulator]:
    async with MtsSimulator() as sim:
        sim.add_abonent(SimAbonent(1735, "101", "Anna", phone_number="+79991112233"))
        yield sim


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest_asyncio.fixture
async def web_url(
    redis: Redis, redis_url: str, pbx: MtsSimulator, metrics: Metrics
) -> AsyncIterator[str]:
    settings = Settings(redis_url=redis_url, accounts=[{**MTS, "api_url": pbx.base_url}])
    async with httpx.AsyncClient() as http:
        providers = Providers.from_settings(settings, http, redis=redis)
        for provider in providers.of_class(MtsProvider):
            provider.ignored.bind(metrics.pbx_events_ignored)
        app = build_web_app(settings, redis, metrics)
        add_ingest_routes(app, providers, EventStream(redis, Keys()), metrics)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            yield f"http://{host}:{port}/pbx/mts/events"
        finally:
            await runner.cleanup()


async def stored(redis: Redis) -> list[Any]:
    entries: list[Any] = list(await redis.xrange(Keys().events_stream()) or [])
    return [decode_event(fields["event"]) for _, fields in entries]


async def test_web_tier_answers(web_url: str, redis: Redis, pbx: MtsSimulator) -> None:
    ring = call("CALL_RECEIVED", 1735)
    async with httpx.AsyncClient() as client:
        wrong = await client.post(web_url, json=ring, headers={"X-AUTH-TOKEN": "nope"})
        missing = await client.post(web_url, json=ring)
        bad = await client.post(web_url, content=b"{", headers={"X-AUTH-TOKEN": KEY})
        alive = await client.post(
            web_url, json={"eventType": "CHECK_ALIVE"}, headers={"X-AUTH-TOKEN": KEY}
        )
        assert await stored(redis) == []
        good = await client.post(web_url, json=ring, headers={"X-AUTH-TOKEN": KEY})

    assert (wrong.status_code, missing.status_code) == (403, 403)
    assert "callback-key" not in wrong.text
    assert bad.status_code == 400
    assert alive.status_code == 200
    assert good.status_code == 200
    [event] = await stored(redis)
    # The abonent id was new: the directory was read to name the extension.
    assert isinstance(event, CallLegEvent)
    assert event.callee == Party(extension="101")
    assert [r.path for r in pbx.requests] == ["/api/abonents"]


async def test_an_unknown_type_is_answered_200_logged_once_and_counted(
    web_url: str, redis: Redis, metrics: Metrics, caplog: pytest.LogCaptureFixture
) -> None:
    """Section 3 (lines 68-70): every failed delivery adds to the PBX's error count, and
    at its limit notifications are switched off; section 4.3 (line 126) takes any answer
    but 200 as an unreachable address. So a type beyond the six of section 4.7 (lines
    695-704) gets 200, not 400; a body that is no notification stays 400, a bad token 403.
    """
    headers = {"X-AUTH-TOKEN": KEY}
    parked = {"eventType": "CALL_PARKED", "abonentId": 1735, "payload": {"callId": "c1"}}
    caplog.set_level(logging.INFO)
    async with httpx.AsyncClient() as client:
        answers = [
            await client.post(web_url, json=body, headers=headers)
            for body in (parked, parked, {"eventType": "CALL_HELD"})
        ]
        forged = await client.post(web_url, json=parked, headers={"X-AUTH-TOKEN": "nope"})
        no_type = await client.post(web_url, json={"abonentId": 1735}, headers=headers)

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert (forged.status_code, no_type.status_code) == (403, 400)
    assert await stored(redis) == []

    def ignored(kind: str) -> float | None:
        labels = {"provider": "mts", "type": kind}
        return metrics.registry.get_sample_value("pbxgram_pbx_events_ignored_total", labels)

    assert (ignored("CALL_PARKED"), ignored("CALL_HELD")) == (2.0, 1.0)
    logged = [r.getMessage() for r in caplog.records if "unknown type" in r.getMessage()]
    assert logged == [
        "MTS mts: ignoring notifications of unknown type CALL_PARKED (answered 200)",
        "MTS mts: ignoring notifications of unknown type CALL_HELD (answered 200)",
    ]
    assert KEY not in caplog.text


async def test_a_subscription_termination_is_noted_for_renewal(
    web_url: str, redis: Redis, redis_url: str
) -> None:
    settings = Settings(redis_url=redis_url, accounts=[MTS])
    async with httpx.AsyncClient() as http:
        provider = Providers.from_settings(settings, http, redis=redis).get("mts")
    assert isinstance(provider, MtsProvider) and provider.subscriptions is not None
    await provider.subscriptions.save(
        Subscription(
            abonent_id=1735,
            extension="101",
            subscription_id="1s9s000w",
            expires_at=9e9,
            lifetime=3600,
        )
    )
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            web_url,
            json={"eventType": "SUBSCRIPTION_TERMINATION", "abonentId": 1735},
            headers={"X-AUTH-TOKEN": KEY},
        )
    assert answer.status_code == 200
    assert await stored(redis) == []
    [subscription] = (await provider.subscriptions.all()).values()
    assert subscription.terminated
    assert not subscription.alive(0)


def test_the_account_config_reads() -> None:
    account = MtsAccount.model_validate(MTS)
    assert account.mode == "apicrm" and account.recordings is False
