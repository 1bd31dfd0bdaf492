"""The relay format's rules and how statuses become events, without HTTP or Redis."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.events import CallLegEvent, CallSummaryEvent, Direction, LegState, RecordingEvent
from bot.pbx.base import WebhookMalformed
from bot.pbx.relay.call_book import RelayCall, advance, events_of
from bot.pbx.relay.recordings import MP3, MP4, OGG, WAV, sniff
from bot.pbx.relay.webhooks import read_request
from sandbox.relay import silent_wav

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def _fields(**values: str | list[str]) -> dict[str, list[str]]:
    return {name: value if isinstance(value, list) else [value] for name, value in values.items()}


# create_call ---------------------------------------------------------------------------
def test_create_example_from_the_doc() -> None:
    request = read_request(
        _fields(
            action="create_call",
            direction="outgoing",
            phone="777777777",
            call_status="ringing",
            comment="start",
        )
    )
    assert request.action == "create_call"
    assert request.direction is Direction.OUTBOUND
    assert request.phone == "777777777"
    assert request.call_status == "ringing"
    assert request.comment == "start"
    assert request.pbx_call_id is None


def test_create_defaults_to_ringing_and_reads_lists() -> None:
    request = read_request(
        _fields(
            action="create_call",
            direction="incoming",
            phone="79001234567",
            pbx_call_id="1714557600.42",
            pbx_user_ids=["101", "102", "101"],
        )
    )
    assert request.call_status == "ringing"
    assert request.direction is Direction.INBOUND
    assert request.pbx_user_ids == ("101", "102")
    assert request.raw["pbx_user_ids"] == ["101", "102", "101"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "action is required"),
        ({"action": "delete_call"}, "action must be create_call or update_call"),
        ({"action": "create_call", "phone": "1"}, "direction is required"),
        (
            {"action": "create_call", "direction": "inbound", "phone": "1"},
            "direction must be incoming or outgoing",
        ),
        ({"action": "create_call", "direction": "incoming"}, "phone is required"),
        (
            {"action": "create_call", "direction": "incoming", "phone": "1", "call_status": "on"},
            "call_status must be one of ringing, in-progress, canceled, missed, failed, "
            "answered, busy",
        ),
        (
            {
                "action": "create_call",
                "direction": "incoming",
                "phone": "1",
                "user_ids": ["5"],
                "pbx_user_ids": ["101"],
            },
            "send only one of user_ids, group_ids or pbx_user_ids",
        ),
        (
            {
                "action": "create_call",
                "direction": "incoming",
                "phone": "1",
                "group_ids": ["2"],
                "user_ids": ["5"],
            },
            "send only one of user_ids, group_ids or pbx_user_ids",
        ),
        (
            {"action": "create_call", "direction": "incoming", "phone": "1", "user_ids": ["x"]},
            "user_ids must hold numbers",
        ),
        (
            {"action": "create_call", "direction": "incoming", "phone": "1", "group_ids": ["-1"]},
            "group_ids must hold numbers",
        ),
        (
            {"action": ["create_call", "update_call"]},
            "action is given more than once",
        ),
    ],
)
def test_create_rules(fields: dict[str, str | list[str]], message: str) -> None:
    with pytest.raises(WebhookMalformed, match=message):
        read_request(_fields(**fields))


# update_call ---------------------------------------------------------------------------
def test_update_example_from_the_doc() -> None:
    request = read_request(
        _fields(
            action="update_call",
            call_id="725",
            call_status="canceled",
            user_id="1",
            comment="missed",
        )
    )
    assert (request.call_id, request.user_id, request.call_status) == (725, 1, "canceled")
    assert request.is_final


def test_update_by_pbx_call_id_with_extension() -> None:
    request = read_request(
        _fields(
            action="update_call",
            pbx_call_id="1714557600.42",
            call_status="in-progress",
            pbx_user_id="102",
        )
    )
    assert (request.pbx_call_id, request.pbx_user_id) == ("1714557600.42", "102")
    assert not request.is_final


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "update_call", "call_status": "answered"}, "needs call_id or pbx_call_id"),
        (
            {"action": "update_call", "call_id": "1", "pbx_call_id": "a", "call_status": "busy"},
            "send only one of call_id or pbx_call_id",
        ),
        (
            {
                "action": "update_call",
                "call_id": "1",
                "call_status": "busy",
                "user_id": "1",
                "pbx_user_id": "101",
            },
            "send only one of user_id or pbx_user_id",
        ),
        ({"action": "update_call", "call_id": "1"}, "call_status is required"),
        (
            {"action": "update_call", "call_id": "1", "call_status": "hung-up"},
            "call_status must be one of",
        ),
        (
            {"action": "update_call", "call_id": "seven", "call_status": "busy"},
            "call_id must be a number",
        ),
        (
            {"action": "update_call", "call_id": "1", "call_status": "busy", "user_id": "x"},
            "user_id must be a number",
        ),
        (
            {"action": "update_call", "call_id": "1", "call_status": "busy", "audio_record": "x"},
            "audio_record must be a file sent as multipart/form-data",
        ),
    ],
)
def test_update_rules(fields: dict[str, str | list[str]], message: str) -> None:
    with pytest.raises(WebhookMalformed, match=message):
        read_request(_fields(**fields))


def test_only_one_target_list_per_create() -> None:
    """Doc lines 74-76: only one of ``user_ids``, ``group_ids`` or ``pbx_user_ids`` at a time."""
    for first, second in [
        ("user_ids", "group_ids"),
        ("user_ids", "pbx_user_ids"),
        ("group_ids", "pbx_user_ids"),
    ]:
        fields = _fields(action="create_call", direction="incoming", phone="1")
        fields |= {first: ["5"], second: ["101"]}
        with pytest.raises(WebhookMalformed, match="send only one of user_ids, group_ids"):
            read_request(fields)


def test_only_one_of_each_pair_per_update() -> None:
    """Doc lines 116-119: only one of ``call_id`` or ``pbx_call_id``, and of ``user_id`` or
    ``pbx_user_id``, at a time."""
    base = _fields(action="update_call", call_status="busy")
    with pytest.raises(WebhookMalformed, match="send only one of call_id or pbx_call_id"):
        read_request(base | _fields(call_id="725", pbx_call_id="1714557600.42"))
    with pytest.raises(WebhookMalformed, match="send only one of user_id or pbx_user_id"):
        read_request(base | _fields(call_id="725", user_id="1", pbx_user_id="101"))


def test_create_ignores_fields_outside_its_table() -> None:
    """Doc lines 38-48 list create_call's fields; a script that also sends update_call's
    (lines 84-87), or a field of its own, loses nothing: the doc's example (line 53) reads
    the same."""
    example = _fields(
        action="create_call",
        direction="outgoing",
        phone="777777777",
        call_status="ringing",
        comment="start",
    )
    more = example | _fields(
        call_id="725", user_id="1", pbx_user_id="101", channel="SIP/101-0001", uniqueid="x"
    )
    request = read_request(more)
    assert request == replace(read_request(example), raw=request.raw)
    assert (request.call_id, request.user_id, request.pbx_user_id) == (None, None, None)
    assert request.raw["channel"] == "SIP/101-0001"  # kept for the log, nothing else


def test_update_ignores_fields_outside_its_table() -> None:
    """Doc lines 82-90 list update_call's fields; ``direction``, ``phone`` and the target
    lists of create_call (lines 39-46), even malformed, are ignored: the doc's example
    (line 95) reads the same."""
    example = _fields(
        action="update_call", call_id="725", call_status="canceled", user_id="1", comment="missed"
    )
    more = example | _fields(
        direction="inbound",
        phone="777777777",
        pbx_user_ids=["101"],
        user_ids=["x"],
        group_ids=["5"],
    )
    request = read_request(more)
    assert request == replace(read_request(example), raw=request.raw)
    assert (request.direction, request.phone, request.group_ids) == (None, None, ())


@pytest.mark.parametrize("status", ["ringing", "in-progress"])
def test_active_statuses_are_not_final(status: str) -> None:
    request = read_request(_fields(action="update_call", call_id="1", call_status=status))
    assert not request.is_final


@pytest.mark.parametrize("status", ["canceled", "missed", "failed", "answered", "busy"])
def test_final_statuses(status: str) -> None:
    request = read_request(_fields(action="update_call", call_id="1", call_status=status))
    assert request.is_final


# statuses to events --------------------------------------------------------------------
def _call() -> RelayCall:
    return RelayCall(call_id="7", direction=Direction.INBOUND, phone="79001234567", created_at=T0)


def _legs(call: RelayCall) -> list[tuple[str, int, LegState]]:
    return [
        (e.leg_id, e.seq, e.state)
        for e in events_of(call, "pbx", {}, [])
        if isinstance(e, CallLegEvent)
    ]


def _dumped(call: RelayCall) -> list[dict[str, object]]:
    return [e.model_dump(exclude={"received_at"}) for e in events_of(call, "pbx", {}, [])]


def test_ring_group_answered_by_one() -> None:
    call = _call()
    advance(call, "ringing", ring=["101", "102"], answerer=None, now=T0, final=False)
    assert _legs(call) == [("7:101", 1, LegState.RINGING), ("7:102", 1, LegState.RINGING)]

    advance(
        call, "in-progress", ring=[], answerer="102", now=T0 + timedelta(seconds=5), final=False
    )
    assert _legs(call) == [
        ("7:101", 1, LegState.RINGING),
        ("7:101", 3, LegState.DISCONNECTED),  # stopped ringing
        ("7:102", 1, LegState.RINGING),
        ("7:102", 2, LegState.CONNECTED),
    ]

    end = T0 + timedelta(seconds=65)
    advance(call, "answered", ring=[], answerer=None, now=end, final=True)
    events = events_of(call, "pbx", {}, [("7-abc", end)])
    [summary] = [e for e in events if isinstance(e, CallSummaryEvent)]
    assert summary.answered
    assert summary.callee.extension == "102"
    assert summary.caller.number == "79001234567"
    assert summary.talk_seconds == 60
    assert (summary.created_at, summary.ended_at) == (T0, end)
    [recording] = [e for e in events if isinstance(e, RecordingEvent)]
    assert (recording.recording_id, recording.call_id, recording.extension) == ("7-abc", "7", "102")


def test_nobody_answers_is_missed() -> None:
    call = _call()
    advance(call, "ringing", ring=["101", "102"], answerer=None, now=T0, final=False)
    advance(call, "missed", ring=[], answerer=None, now=T0 + timedelta(seconds=20), final=True)
    [summary] = [e for e in events_of(call, "pbx", {}, []) if isinstance(e, CallSummaryEvent)]
    assert not summary.answered
    assert summary.answered_at is None
    assert summary.callee.extension is None


def test_late_and_repeated_statuses_change_nothing() -> None:
    call = _call()
    advance(call, "ringing", ring=["101"], answerer=None, now=T0, final=False)
    advance(call, "busy", ring=[], answerer=None, now=T0 + timedelta(seconds=3), final=True)
    before = _dumped(call)

    later = T0 + timedelta(seconds=9)
    advance(call, "in-progress", ring=[], answerer="101", now=later, final=False)
    advance(call, "ringing", ring=["102"], answerer=None, now=later, final=False)
    advance(call, "answered", ring=[], answerer="101", now=later, final=True)

    assert _dumped(call) == before
    assert call.status == "busy"


def test_late_ringing_does_not_move_the_status_back() -> None:
    call = _call()
    advance(call, "in-progress", ring=["101"], answerer=None, now=T0, final=False)
    advance(call, "ringing", ring=["101"], answerer=None, now=T0, final=False)
    assert call.status == "in-progress"
    assert call.answered_by == "101"  # the only extension it rang


# uploads -------------------------------------------------------------------------------
def test_sniff_recognises_the_four_formats() -> None:
    assert sniff(silent_wav()[:12]) is WAV
    assert sniff(b"ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00") is MP3
    assert sniff(b"\xff\xfb\x90\x64\x00\x00\x00\x00\x00\x00\x00\x00") is MP3
    assert sniff(b"\x00\x00\x00\x20ftypM4A ") is MP4
    assert sniff(b"OggS\x00\x02\x00\x00\x00\x00\x00\x00") is OGG
    assert sniff(b"%PDF-1.7\n....") is None
