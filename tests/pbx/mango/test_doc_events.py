"""MANGO events as the spec words them: where a recording went, whether anyone talked,
and who pressed the voice-menu keys (line numbers are those of mango-office-api.txt)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.events import CallSummaryEvent, DtmfEvent, RecordingEvent, RecordingState
from bot.pbx.mango.webhooks import parse_payload

# 3.1.3 example 1 (lines 611-626), completed: "recipient" is sent "в состоянии Completed"
# (line 570) with a completion_code (line 569).
RECORDING = {
    "recording_id": "r100:777:500:256",
    "recording_state": "Completed",
    "seq": 2,
    "call_id": "100:500:256",
    "entry_id": "232wc3e3w3s222",
    "extension": "1234",
    "timestamp": "1399906976",
    "completion_code": 1000,
}

# 3.1.5 examples 1 and 2 (lines 753-777 and 779-801), with the colon after "from" that the
# doc leaves out put back.
SUMMARY_EXAMPLE_1 = """{
  "entry_id": "232wc3e3w3s222",
  "call_direction": 1,
  "from" {
    "number" : "7800123635242"
  },
  "to": {
    "extension": "123",
    "number" : "7800123456789"
  },
  "line_number" : "7800123456789",
  "create_time" : 1399906976,
  "forward_time" : 1399906978,
  "talk_time" : 1399906980,
  "end_time" : 1399906990,
  "entry_result": 1,
  "disconnect_reason" : 1100
}""".replace('" {', '": {')
SUMMARY_EXAMPLE_2 = """{
  "entry_id": "232wc3e3w3s222",
  "call_direction": 1,
  "from" {
    "number" : "790000000000"
  },
  "to": {
  },
  "line_number" : "7800123456789",
  "create_time" : 1399906976,
  "forward_time" : 1399906978,
  "talk_time" : 0,
  "end_time" : 1399906990,
  "entry_result": 1,
  "disconnect_reason" : 1170
}""".replace('" {', '": {')

# 3.1.4, the example of lines 680-698.
DTMF = """{
  "seq" : 1,
  "dtmf" : "124",
  "timestamp" : "1399906980",
  "call_id" : "100:500:256",
  "entry_id": "232wc3e3w3s222",
  "location" : "ivr.2",
  "initiator" : "790000000000",
  "from_number" : "790000000000",
  "to_number" : "7800123456789",
  "line_number" : "7800123456789"
}"""


def _recording(**fields: object) -> RecordingEvent:
    event = parse_payload("events/recording", json.dumps({**RECORDING, **fields}), "main")
    assert isinstance(event, RecordingEvent)
    return event


def test_a_recording_sent_to_mail_only_is_marked_so() -> None:
    """Lines 596-603: recipient "Mail" -- "Запись вызова отправлена на e-mail пользователя";
    unlike "Cloud" and "CloudAndMail" it is not kept "в Облачном хранилище"."""
    mailed = _recording(recipient="Mail")
    assert mailed.state is RecordingState.COMPLETED
    assert mailed.succeeded
    assert mailed.emailed_only


@pytest.mark.parametrize("recipient", ["Cloud", "CloudAndMail", None])
def test_a_recording_in_the_cloud_can_be_fetched(recipient: str | None) -> None:
    """Lines 601 and 603: "Cloud" and "CloudAndMail" are saved in the cloud; line 570: the
    field is optional, and a recording without it is fetched as before."""
    fields = {} if recipient is None else {"recipient": recipient}
    event = _recording(**fields)
    assert event.succeeded
    assert not event.emailed_only


def test_summary_example_1_talked() -> None:
    """Lines 753-777: "успешного входящего звонка ... на оператора", talk_time set and
    entry_result 1 (line 745: "1 - звонок успешен и разговор состоялся")."""
    event = parse_payload("events/summary", SUMMARY_EXAMPLE_1, "main")
    assert isinstance(event, CallSummaryEvent)
    assert event.answered
    assert event.answered_at == datetime.fromtimestamp(1399906980, UTC)
    assert event.talk_seconds == 10


def test_summary_example_2_ended_in_the_voice_menu_is_not_answered() -> None:
    """Lines 779-801: "не успешного входящего звонка ... завершился в IVR меню", yet
    entry_result 1. Line 742: talk_time "Если в звонке не состоялся разговор, то равно
    нулю" -- talk_time 0 decides: nobody talked."""
    event = parse_payload("events/summary", SUMMARY_EXAMPLE_2, "main")
    assert isinstance(event, CallSummaryEvent)
    assert not event.answered
    assert event.answered_at is None
    assert event.talk_seconds == 0
    assert event.callee.extension is None


@pytest.mark.parametrize(
    ("talk_time", "entry_result", "answered"),
    [
        (1399906980, 1, True),  # example 1 (line 772, 774)
        (0, 1, False),  # example 2 (line 796, 798)
        (0, 0, False),  # example 4 (lines 829-852)
        (1399906980, 0, True),  # no example: the answer time is the fact
        (None, 1, True),  # no talk_time: entry_result alone
        (None, 0, False),
    ],
)
def test_talk_time_decides_entry_result_only_without_it(
    talk_time: int | None, entry_result: int, answered: bool
) -> None:
    """Lines 742 and 745: talk_time is zero when no conversation took place; entry_result
    is read only when talk_time is missing."""
    payload = json.loads(SUMMARY_EXAMPLE_1)
    payload["entry_result"] = entry_result
    if talk_time is None:
        del payload["talk_time"]
    else:
        payload["talk_time"] = talk_time
    event = parse_payload("events/summary", json.dumps(payload), "main")
    assert isinstance(event, CallSummaryEvent)
    assert event.answered is answered


def test_dtmf_carries_who_pressed_and_the_line() -> None:
    """Lines 675-678: initiator, from_number, to_number and line_number, from the example
    of lines 680-698 (keys pressed in the 2nd menu block)."""
    event = parse_payload("events/dtmf", DTMF, "main")
    assert isinstance(event, DtmfEvent)
    assert (event.call_id, event.leg_id, event.seq) == ("232wc3e3w3s222", "100:500:256", 1)
    assert (event.digits, event.location) == ("124", "ivr.2")
    assert event.initiator == "790000000000"
    assert event.from_number == "790000000000"
    assert event.to_number == "7800123456789"
    assert event.line_number == "7800123456789"


def test_dtmf_optional_fields_may_be_missing() -> None:
    """Lines 676-678: from_number, to_number and line_number are "Опциональный"."""
    payload = json.loads(DTMF)
    for name in ("from_number", "to_number", "line_number"):
        del payload[name]
    event = parse_payload("events/dtmf", json.dumps(payload), "main")
    assert isinstance(event, DtmfEvent)
    assert event.initiator == "790000000000"
    assert (event.from_number, event.to_number, event.line_number) == (None, None, None)
