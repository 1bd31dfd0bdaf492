"""Every webhook example of the MANGO spec that is valid JSON parses into the right event."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.events import (
    CallLegEvent,
    CallSummaryEvent,
    CommandResultEvent,
    Direction,
    DtmfEvent,
    LegState,
    RecordingEvent,
    RecordingState,
)
from bot.pbx.base import WebhookMalformed
from bot.pbx.mango.webhooks import parse_payload

SAMPLES = Path(__file__).parent.parent / "samples" / "mango"
KIND = {
    "events/call": CallLegEvent,
    "events/recording": RecordingEvent,
    "events/dtmf": DtmfEvent,
}


def _sample_route(path: Path) -> str:
    stem = path.name.split("__")[0]
    for route in (
        "events/call",
        "events/recording",
        "events/dtmf",
        "result/call/hangup",
        "result/callback",
        "result/recording/start",
        "result/route",
        "result/stats",
        "result/transfer",
    ):
        if stem == route.replace("/", "_"):
            return route
    raise AssertionError(stem)


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_spec_sample_parses(sample: Path) -> None:
    route = _sample_route(sample)
    text = sample.read_text(encoding="utf-8")

    event = parse_payload(route, text, "main")

    assert event.account == "main"
    assert event.provider == "mango"
    assert event.raw  # the vendor payload is kept
    expected = KIND.get(route, CommandResultEvent)
    assert isinstance(event, expected)


def test_call_leg_fields() -> None:
    text = (SAMPLES / "events_call__line7988.json").read_text(encoding="utf-8")
    event = parse_payload("events/call", text, "main")
    assert isinstance(event, CallLegEvent)
    assert event.call_id == "232wc3e3w3s222"
    assert event.leg_id == "100:500:256"
    assert event.seq == 1
    assert event.state is LegState.RINGING
    assert event.location == "abonent"
    assert event.caller.extension == "1234"
    assert event.callee.number == "12345678"
    assert event.at == datetime(2014, 5, 12, 15, 2, 56, tzinfo=UTC)
    assert event.dedupe_key == "leg:100:500:256:1"


def test_recording_and_dtmf_fields() -> None:
    recording = parse_payload(
        "events/recording", (SAMPLES / "events_recording__line617.json").read_text(), "main"
    )
    assert isinstance(recording, RecordingEvent)
    assert recording.recording_id == "r100:777:500:256"
    assert recording.state is RecordingState.STARTED
    assert recording.command_id == "cmd.12.vpbx.12345.external.system.com.net"
    assert recording.call_id == "232wc3e3w3s222"

    dtmf = parse_payload("events/dtmf", (SAMPLES / "events_dtmf__line686.json").read_text(), "m")
    assert isinstance(dtmf, DtmfEvent)
    assert (dtmf.digits, dtmf.location, dtmf.seq) == ("124", "ivr.2", 1)


def test_command_results() -> None:
    hangup = parse_payload(
        "result/call/hangup", (SAMPLES / "result_call_hangup__line1048.json").read_text(), "m"
    )
    assert isinstance(hangup, CommandResultEvent)
    assert (hangup.command, hangup.code, hangup.success) == ("call/hangup", 4101, False)
    assert hangup.command_id == "cmd.654.vpbx.12345.external.system.com.net"
    assert hangup.message_key == "pbx_codes.mango.4101"

    callback = parse_payload(
        "result/callback", (SAMPLES / "result_callback__line8072.json").read_text(), "m"
    )
    assert isinstance(callback, CommandResultEvent)
    assert callback.success

    stats = parse_payload(
        "result/stats", (SAMPLES / "result_stats__line1640.json").read_text(), "m"
    )
    assert isinstance(stats, CommandResultEvent)
    assert stats.command_id == "request22230"
    assert stats.data["key"].startswith("b3Z7pivetID7u")


def test_summary_numbers_as_strings_or_integers() -> None:
    # the spec's first summary example, with the missing colon after "from" put back
    text = (
        '{"entry_id":"232wc3e3w3s222","call_direction":1,"from":{"number":"7800123635242"},'
        '"to":{"extension":"123","number":"7800123456789"},"line_number":"7800123456789",'
        '"create_time":1399906976,"forward_time":1399906978,"talk_time":1399906980,'
        '"end_time":1399906990,"entry_result":1,"disconnect_reason":1100}'
    )
    as_strings = text.replace("1399906976", '"1399906976"').replace(':1,"disc', ':"1","disc')
    for payload in (text, as_strings):
        event = parse_payload("events/summary", payload, "main")
        assert isinstance(event, CallSummaryEvent)
        assert event.direction is Direction.INBOUND
        assert event.answered
        assert event.talk_seconds == 10
        assert event.callee.extension == "123"
        assert event.line_number == "7800123456789"


def test_unknown_fields_tolerated_missing_fields_rejected() -> None:
    ok = '{"command_id":"x","result":1000,"something_new":{"a":1}}'
    assert isinstance(parse_payload("result/callback", ok, "m"), CommandResultEvent)
    with pytest.raises(WebhookMalformed):
        parse_payload("events/call", '{"entry_id":"e","seq":1}', "m")
    with pytest.raises(WebhookMalformed):
        parse_payload("events/call", "not json", "m")
    with pytest.raises(WebhookMalformed):
        parse_payload("events/call", "[1,2]", "m")
    with pytest.raises(WebhookMalformed):
        parse_payload(
            "events/call",
            '{"entry_id":"e","call_id":"c","seq":"x","call_state":"Appeared","timestamp":1}',
            "m",
        )
