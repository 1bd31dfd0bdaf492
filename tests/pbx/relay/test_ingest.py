"""The relay format over real HTTP and a real Redis: answers, stored events, uploads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bot.config import Settings
from bot.events import CallLegEvent, CallSummaryEvent, LegState, RecordingEvent
from bot.metrics import Metrics
from bot.pbx.providers import Providers
from bot.pbx.relay import recordings
from bot.pipeline.ingest import add_ingest_routes
from bot.pipeline.stream import EventStream, decode_event
from bot.storage import Keys
from bot.storage.links import LinkRepository
from bot.web import build_web_app
from sandbox.relay import Audio, RelayPbx, silent_wav
from tests.helpers import serving

SECRET = "relay-secret-0123456789"
GROUPS = {"5": ["101", "102"], "7": ["103"]}
ACCOUNT = {"id": "pbx", "provider": "relay", "secret": SECRET, "groups": GROUPS}
CLIENT = "79001234567"


@dataclass
class Relay:
    pbx: RelayPbx  # multipart, like curl --form
    form: RelayPbx  # application/x-www-form-urlencoded
    base_url: str
    providers: Providers


@pytest_asyncio.fixture
async def relay(make_settings: Callable[..., Settings], redis: Redis) -> AsyncIterator[Relay]:
    settings = make_settings(accounts=[ACCOUNT])
    async with httpx.AsyncClient() as http:
        app = build_web_app(settings, redis, Metrics())
        providers = Providers.from_settings(settings, http, redis=redis)
        add_ingest_routes(app, providers, EventStream(redis, Keys()), Metrics())
        async with serving(app) as url:
            calls = f"{url}/pbx/pbx/calls/{SECRET}"
            async with RelayPbx(calls) as pbx, RelayPbx(calls, multipart=False) as form:
                yield Relay(pbx, form, url, providers)


async def _stored(redis: Redis) -> list[Any]:
    entries = await redis.xrange(Keys().events_stream()) or []
    return [decode_event(str(fields["event"])) for _, fields in entries if fields]


async def _relay_keys(redis: Redis) -> list[str]:
    keys = [str(key) for key in await redis.keys("pbxgram:relay:pbx:rec:*")]
    return sorted(key for key in keys if not key.endswith(":info"))


# answers -------------------------------------------------------------------------------
async def test_doc_create_example_answers_the_doc_shape(relay: Relay, redis: Redis) -> None:
    answer = await relay.pbx.post(
        {
            "action": "create_call",
            "direction": "outgoing",
            "phone": "777777777",
            "call_status": "ringing",
            "comment": "start",
        }
    )
    assert answer.status == 200
    assert answer.json == {
        "data": {
            "call_id": answer.data["call_id"],
            "pbx_call_id": None,
            "user_id": None,
            "pbx_user_id": None,
            "call_status": "ringing",
            "audio_record": None,
            "ticket_id": None,
        }
    }
    assert isinstance(answer.data["call_id"], int)
    assert await _stored(redis) == []  # nobody is linked: there is nobody to show it to

    update = await relay.pbx.post(
        {
            "action": "update_call",
            "call_id": answer.data["call_id"],
            "call_status": "canceled",
            "user_id": 1,
            "comment": "missed",
        }
    )
    assert update.status == 200
    assert update.data["call_id"] == answer.data["call_id"]
    assert update.data["call_status"] == "canceled"
    [summary] = await _stored(redis)
    assert isinstance(summary, CallSummaryEvent)
    assert not summary.answered
    assert summary.callee.number == "777777777"


@pytest.mark.parametrize("multipart", [True, False])
async def test_ring_group_as_form_and_multipart(
    relay: Relay, redis: Redis, multipart: bool
) -> None:
    pbx = relay.pbx if multipart else relay.form
    created = await pbx.create_call(
        CLIENT, pbx_call_id="1714557600.42", pbx_user_ids=["101", "102"]
    )
    assert created.status == 200
    assert created.data["pbx_call_id"] == "1714557600.42"
    call_id = str(created.data["call_id"])

    talking = await pbx.update_call("in-progress", pbx_call_id="1714557600.42", pbx_user_id="102")
    assert talking.data == {**created.data, "call_status": "in-progress", "pbx_user_id": "102"}

    events = await _stored(redis)
    legs = [(e.leg_id, e.seq, e.state) for e in events if isinstance(e, CallLegEvent)]
    assert legs == [
        (f"{call_id}:101", 1, LegState.RINGING),
        (f"{call_id}:102", 1, LegState.RINGING),
        (f"{call_id}:101", 1, LegState.RINGING),
        (f"{call_id}:101", 3, LegState.DISCONNECTED),
        (f"{call_id}:102", 1, LegState.RINGING),
        (f"{call_id}:102", 2, LegState.CONNECTED),
    ]
    first = events[0]
    assert first.caller.number == CLIENT
    assert first.callee.extension == "101"
    assert first.raw["pbx_user_ids"] == ["101", "102"]


async def test_same_pbx_call_id_keeps_our_call_id(relay: Relay) -> None:
    first = await relay.pbx.create_call(CLIENT, pbx_call_id="abc", pbx_user_ids=["101"])
    again = await relay.pbx.create_call(CLIENT, pbx_call_id="abc", pbx_user_ids=["101"])
    other = await relay.pbx.create_call(CLIENT, pbx_call_id="xyz", pbx_user_ids=["101"])
    by_ours = await relay.pbx.update_call("busy", call_id=first.data["call_id"])
    assert first.data["call_id"] == again.data["call_id"] == by_ours.data["call_id"]
    assert other.data["call_id"] != first.data["call_id"]
    assert first.data["user_id"] is None  # 101 is not linked to anyone
    assert first.data["pbx_user_id"] == "101"  # the only one it rang


async def test_redelivered_final_update_repeats_the_same_summary(
    relay: Relay, redis: Redis
) -> None:
    await relay.pbx.create_call(CLIENT, pbx_call_id="p1", pbx_user_ids=["101"])
    await relay.pbx.update_call("missed", pbx_call_id="p1")
    await relay.pbx.update_call("missed", pbx_call_id="p1")
    await relay.pbx.update_call("in-progress", pbx_call_id="p1", pbx_user_id="101")

    summaries = [e for e in await _stored(redis) if isinstance(e, CallSummaryEvent)]
    assert len({s.dedupe_key for s in summaries}) == 1
    assert len({s.model_dump_json(exclude={"received_at", "raw"}) for s in summaries}) == 1
    assert not summaries[0].answered


async def test_user_ids_are_linked_telegram_users(relay: Relay, redis: Redis) -> None:
    await LinkRepository(redis, Keys()).link("pbx", "103", 555)
    created = await relay.pbx.create_call(CLIENT, user_ids=[555, 777])
    assert created.data["user_id"] == 555
    assert created.data["pbx_user_id"] == "103"
    [leg] = await _stored(redis)
    assert leg.callee.extension == "103"


async def test_no_target_rings_everyone_linked(relay: Relay, redis: Redis) -> None:
    """Doc line 78: with none of the three lists, everyone with telephony access gets the
    card; only one of them would be assigned, two are not."""
    links = LinkRepository(redis, Keys())
    await links.link("pbx", "101", 501)
    await links.link("pbx", "102", 502)
    created = await relay.form.create_call(CLIENT)
    assert created.data["user_id"] is None  # two people: nobody is assigned yet
    assert sorted(e.callee.extension for e in await _stored(redis)) == ["101", "102"]

    answered = await relay.form.update_call(
        "in-progress", call_id=created.data["call_id"], user_id=502
    )
    assert (answered.data["user_id"], answered.data["pbx_user_id"]) == (502, "102")


async def test_doc_outgoing_example_without_target_goes_to_everyone_linked(
    relay: Relay, redis: Redis
) -> None:
    """Doc line 53 (an outgoing create_call with no target) and line 78: no target means
    everyone with telephony access, whatever the direction."""
    links = LinkRepository(redis, Keys())
    await links.link("pbx", "101", 501)
    await links.link("pbx", "103", 503)
    created = await relay.pbx.post(
        {
            "action": "create_call",
            "direction": "outgoing",
            "phone": "777777777",
            "call_status": "ringing",
            "comment": "start",
        }
    )
    assert created.status == 200
    assert created.data["user_id"] is None  # two people: nobody is assigned
    legs = [e for e in await _stored(redis) if isinstance(e, CallLegEvent)]
    assert [(leg.caller.extension, leg.callee.number) for leg in legs] == [
        ("101", "777777777"),
        ("103", "777777777"),
    ]


async def test_outgoing_call_to_the_only_linked_person_is_theirs(
    relay: Relay, redis: Redis
) -> None:
    """Doc line 78: when only one employee is found, the call is assigned to them."""
    await LinkRepository(redis, Keys()).link("pbx", "101", 501)
    created = await relay.pbx.create_call("777777777", direction="outgoing")
    assert (created.data["user_id"], created.data["pbx_user_id"]) == (501, "101")


async def test_group_ids_ring_the_configured_extensions(relay: Relay, redis: Redis) -> None:
    """Doc lines 32, 46 and 76-78: ``group_ids[]`` chooses who gets the card; the account's
    ``groups`` say which extensions each group id stands for."""
    links = LinkRepository(redis, Keys())
    for extension, telegram_id in (("101", 501), ("102", 502), ("103", 503)):
        await links.link("pbx", extension, telegram_id)

    ring_group = await relay.pbx.create_call(CLIENT, pbx_call_id="g5", group_ids=[5])
    assert ring_group.data["user_id"] is None  # two people: nobody is assigned yet
    rang = {e.callee.extension for e in await _stored(redis) if isinstance(e, CallLegEvent)}
    assert rang == {"101", "102"}

    both = await relay.form.create_call(CLIENT, pbx_call_id="g57", group_ids=[7, 5])
    assert both.status == 200
    one = await relay.pbx.create_call(CLIENT, pbx_call_id="g7", group_ids=[7])
    assert (one.data["user_id"], one.data["pbx_user_id"]) == (503, "103")  # line 78
    by_call: dict[str, list[str]] = {}
    for event in await _stored(redis):
        if isinstance(event, CallLegEvent):
            by_call.setdefault(event.call_id, []).append(event.callee.extension or "")
    assert by_call[str(both.data["call_id"])] == ["103", "101", "102"]
    assert by_call[str(one.data["call_id"])] == ["103"]


@pytest.mark.parametrize("multipart", [True, False])
async def test_an_unknown_group_id_is_400_and_changes_nothing(
    relay: Relay, redis: Redis, multipart: bool
) -> None:
    """Doc line 32: group ids name groups of employees; a group the account does not know
    cannot be shown to anyone, so the request is refused and the script's author told."""
    pbx = relay.pbx if multipart else relay.form
    await LinkRepository(redis, Keys()).link("pbx", "101", 501)
    answer = await pbx.create_call(CLIENT, pbx_call_id="u1", group_ids=[5, 9, 3])
    assert (answer.status, answer.json) == (
        400,
        {
            "error": "group_ids: no group 9, 3 on account pbx (its groups: 5, 7; "
            "they are set in pbxgram.toml under [accounts.groups])"
        },
    )
    assert await _stored(redis) == []
    assert await redis.keys("pbxgram:relay:*") == []  # no call id used, no pbx_call_id kept


async def test_fields_outside_the_action_table_are_ignored(relay: Relay, redis: Redis) -> None:
    """Doc lines 38-48 and 82-90: each action's fields. A script that sends a little more
    (``direction`` and ``phone`` on update_call, ``call_id`` on create_call, fields of its
    own) still gets its events in: the doc's examples (lines 53 and 95) with extras."""
    await LinkRepository(redis, Keys()).link("pbx", "101", 501)
    created = await relay.pbx.create_call(
        "777777777",
        direction="outgoing",
        call_status="ringing",
        comment="start",
        extra={
            "call_id": 725,
            "user_id": 1,
            "pbx_user_id": "101",
            "channel": "SIP/101-01",
            "dialplan_dump": "x" * 20_000,  # more than any field of the format may be
        },
    )
    assert created.status == 200, created.json
    updated = await relay.form.update_call(
        "canceled",
        call_id=created.data["call_id"],
        user_id=1,
        comment="missed",
        extra={"direction": "outgoing", "phone": "777777777", "pbx_user_ids": ["102"]},
    )
    assert updated.status == 200, updated.json
    assert updated.data["call_status"] == "canceled"
    [summary] = [e for e in await _stored(redis) if isinstance(e, CallSummaryEvent)]
    assert (summary.caller.extension, summary.callee.number) == ("101", "777777777")
    assert summary.comment == "missed"


async def test_comment_on_create_and_update_travels_with_the_events(
    relay: Relay, redis: Redis
) -> None:
    """Doc lines 34, 48 and 90: ``comment`` may come with create_call and update_call; the
    latest one sent is the call's, on every event (doc examples: lines 53 and 95)."""
    created = await relay.pbx.create_call(CLIENT, pbx_user_ids=["101"], comment="start")
    [ringing] = await _stored(redis)
    assert ringing.comment == "start"

    await relay.pbx.update_call("in-progress", call_id=created.data["call_id"], user_id=1)
    talking = (await _stored(redis))[1:]
    assert {e.comment for e in talking} == {"start"}  # an update without one keeps it

    await relay.pbx.update_call("canceled", call_id=created.data["call_id"], comment="missed")
    ended = (await _stored(redis))[1 + len(talking) :]
    assert {type(e).__name__ for e in ended} == {"CallLegEvent", "CallSummaryEvent"}
    assert {e.comment for e in ended} == {"missed"}


# refusals ------------------------------------------------------------------------------
async def test_wrong_secret_is_403_without_detail(relay: Relay, redis: Redis) -> None:
    async with RelayPbx(f"{relay.base_url}/pbx/pbx/calls/relay-secret-0123456788") as wrong:
        refused = await wrong.create_call(CLIENT, pbx_user_ids=["101"])
        broken = await wrong.post({"action": "nonsense"})
    assert (refused.status, refused.json) == (403, {"error": "forbidden"})
    assert (broken.status, broken.json) == (403, {"error": "forbidden"})
    assert await _stored(redis) == []
    assert await redis.keys("pbxgram:relay:*") == []


@pytest.mark.parametrize("multipart", [True, False])
async def test_broken_rules_are_400_with_a_json_error(
    relay: Relay, redis: Redis, multipart: bool
) -> None:
    pbx = relay.pbx if multipart else relay.form
    both = await pbx.create_call(CLIENT, pbx_user_ids=["101"], user_ids=[5])
    no_id = await pbx.post({"action": "update_call", "call_status": "answered"})
    bad_status = await pbx.update_call("hangup", call_id=1)
    bad_direction = await pbx.create_call(CLIENT, direction="inbound")
    assert (both.status, both.json) == (
        400,
        {"error": "send only one of user_ids, group_ids or pbx_user_ids"},
    )
    assert (no_id.status, no_id.json) == (
        400,
        {"error": "update_call needs call_id or pbx_call_id"},
    )
    assert bad_status.status == 400
    assert bad_status.error.startswith("call_status must be one of ringing, in-progress")
    assert bad_direction.status == 400
    assert bad_direction.error == "direction must be incoming or outgoing, not 'inbound'"
    assert await _stored(redis) == []


async def test_update_of_an_unknown_call_is_404(relay: Relay, redis: Redis) -> None:
    by_ours = await relay.pbx.update_call("answered", call_id=99999)
    by_theirs = await relay.pbx.update_call("answered", pbx_call_id="never-created")
    assert (by_ours.status, by_ours.json) == (404, {"error": "no call with call_id 99999"})
    assert by_theirs.status == 404
    assert await _stored(redis) == []


async def test_other_content_types_are_400(relay: Relay) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(relay.pbx.url, json={"action": "create_call"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "expected multipart/form-data or application/x-www-form-urlencoded"
    }


# uploads -------------------------------------------------------------------------------
async def test_uploaded_recording_is_kept_and_streamed_back(relay: Relay, redis: Redis) -> None:
    wav = silent_wav(seconds=20)  # 320 KB: more than one chunk
    created = await relay.pbx.create_call(CLIENT, pbx_call_id="r1", pbx_user_ids=["101"])
    await relay.pbx.update_call("in-progress", pbx_call_id="r1", pbx_user_id="101")
    ended = await relay.pbx.update_call(
        "answered", pbx_call_id="r1", audio=Audio("r1.wav", wav, "audio/x-wav")
    )
    recording_id = ended.data["audio_record"]
    assert recording_id.startswith(f"{created.data['call_id']}-")

    [event] = [e for e in await _stored(redis) if isinstance(e, RecordingEvent)]
    assert (event.recording_id, event.extension) == (recording_id, "101")
    assert event.call_id == str(created.data["call_id"])

    provider = relay.providers.get("pbx")
    assert provider is not None
    stream = await provider.recording(recording_id)
    received = b"".join([chunk async for chunk in stream.chunks])
    assert received == wav
    assert (stream.size, stream.content_type) == (len(wav), "audio/wav")
    assert stream.filename == f"call-{created.data['call_id']}.wav"

    again = await relay.pbx.update_call(
        "answered", pbx_call_id="r1", audio=Audio("r1.wav", wav, "audio/x-wav")
    )
    assert again.data["audio_record"] == recording_id
    assert await _relay_keys(redis) == [f"pbxgram:relay:pbx:rec:{recording_id}"]


async def test_a_file_that_is_not_audio_is_refused_and_not_kept(relay: Relay, redis: Redis) -> None:
    created = await relay.pbx.create_call(CLIENT, pbx_user_ids=["101"])
    answer = await relay.pbx.update_call(
        "answered",
        call_id=created.data["call_id"],
        audio=Audio("notes.pdf", b"%PDF-1.7 not a recording at all", "application/pdf"),
    )
    assert (answer.status, answer.json) == (
        400,
        {"error": "audio_record must be an mp3, mp4, wav or ogg file"},
    )
    assert await _relay_keys(redis) == []


async def test_a_file_over_the_limit_is_413_and_not_kept(
    relay: Relay, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recordings, "MAX_RECORDING_BYTES", 300 * 1024)
    created = await relay.pbx.create_call(CLIENT, pbx_user_ids=["101"])
    answer = await relay.pbx.update_call(
        "answered", call_id=created.data["call_id"], audio=Audio("long.wav", silent_wav(30))
    )
    assert answer.status == 413
    assert await _relay_keys(redis) == []
    summaries = [e for e in await _stored(redis) if isinstance(e, CallSummaryEvent)]
    assert summaries == []  # the request was refused whole: the PBX sends it again


async def test_a_request_refused_after_its_file_leaves_nothing(relay: Relay, redis: Redis) -> None:
    answer = await relay.pbx.update_call(
        "answered", call_id=4242, audio=Audio("a.wav", silent_wav())
    )
    assert answer.status == 404
    assert await _relay_keys(redis) == []


async def test_oversized_forms_are_refused(relay: Relay, redis: Redis) -> None:
    huge = "x" * (70 * 1024)
    as_form = await relay.form.create_call(CLIENT, comment=huge)
    as_multipart = await relay.pbx.create_call(CLIENT, comment=huge)
    assert (as_form.status, as_form.json) == (
        400,
        {"error": "the form is too large (a file goes as multipart/form-data)"},
    )
    assert (as_multipart.status, as_multipart.json) == (
        400,
        {"error": "comment: the value is too long"},
    )
    assert await _stored(redis) == []
