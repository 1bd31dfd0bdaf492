"""Call history rows (section 4.5) as call records: the doc's own rows, a voice menu and a
queue that are no person answering, and the conversation's recording."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.pbx.mts.abonents import Abonent, Abonents
from bot.pbx.mts.history import call_records
from bot.pipeline.reconcile import merged

CLIENT = "+79121112233"
AGENTS = Abonents(
    [
        Abonent(user_id=1, extension="201", first_name="Ivan", phone_number="+79165818888"),
        Abonent(user_id=2, extension="202", first_name="Olga", phone_number="+79165819999"),
    ]
)


def row(**fields: Any) -> dict[str, Any]:
    """A row as the doc prints it; ``fields`` are the ones that differ between rows."""
    return {
        "enterpriseBwksId": "E30770",
        "groupBwksId": "E30770G1",
        "departmentBwksId": "",
        "terminationCause": "NORMAL",
        "redirectingNumber": "",
        "redirectingReason": None,
        "recordAbonentId": None,
        "abonentName": None,
        "timeZone": "GMT+03:00",
        "direction": "TERMINATING",
        **fields,
    }


# Section 4.5.1, lines 373-481, in the doc's order.
MENU = row(
    userId="E30770AutoAttendant1@inside.mts.ru",
    callTime=1603880170000,
    callingNumber=CLIENT,
    calledNumber="+79165817777",
    duration=96,
    status="PLACED",
    answerDuration=0,
    callGroupId="3659097569",
    extTrackingId="20105616:1callhalf-3659097569:0",
)
QUEUE = row(
    userId="E30770G1CallCenter2@inside.mts.ru",
    callTime=1603880185000,
    callingNumber=CLIENT,
    calledNumber="718",
    duration=81,
    status="PLACED",
    answerDuration=0,
    redirectingNumber="+79165817777",
    redirectingReason="DEFLECTION",
    callGroupId="3659097569",
    extTrackingId="20105616:1callhalf-3659100347:0",
)
BUSY_AGENT = row(
    userId="79165819999@vpbx.mts.ru",
    callTime=1603880185000,
    callingNumber=CLIENT,
    calledNumber="+79165819999",
    duration=0,
    status="MISSED",
    answerDuration=0,
    terminationCause="USER_BUSY",
    redirectingNumber="+79165817777",
    redirectingReason="CALL_CENTER",
    callGroupId="3659100347",
    extTrackingId="20105616:1callhalf-3659100355:0",
)
AGENT = row(
    userId="9165818888@vpbx.mts.ru",
    callTime=1603880246000,
    callingNumber="718",
    calledNumber="+79165818888",
    duration=12,
    status="PLACED",
    answerDuration=8,
    redirectingNumber="+79165819999",
    redirectingReason="CALL_CENTER",
    callGroupId="3659100347",
    extTrackingId="20105616:1callhalf-3659110915:0",
)


def test_the_voice_menu_and_the_queue_legs_are_not_answered() -> None:
    """Lines 384-385 and 397: the menu's leg is PLACED with answerDuration 0 "т.к. IVR
    включается сразу", its duration (96) the whole call; lines 413-414 and 427: the queue's
    leg the same, "т.к. это перевод вызова". Nobody talked on either."""
    menu, queue = call_records([MENU, QUEUE], AGENTS, recordings=True)

    for record in (menu, queue):
        assert record.call_id == "20105616:1"
        assert record.direction == "inbound" and record.caller == CLIENT
        assert not record.answered
        assert record.talk_seconds == 0
        assert record.recording_ids == ()
        assert record.extension is None and record.rang == ()
    assert menu.ended_at == datetime.fromtimestamp(1603880170 + 96, UTC)


def test_a_call_the_client_left_in_the_queue_is_missed() -> None:
    """The menu, the queue, and the agent who declined (line 442: MISSED, USER_BUSY) with
    no agent after: the call log's one record for the call is not answered, and says whom
    the call rang."""
    call = merged(call_records([MENU, QUEUE, BUSY_AGENT], AGENTS, recordings=True))

    assert not call.answered
    assert call.talk_seconds == 0
    assert call.caller == CLIENT
    assert call.rang == ("202",)
    assert call.started_at == datetime.fromtimestamp(1603880170, UTC)


def test_the_agent_who_picked_up_answered_and_names_the_client() -> None:
    """Lines 470-471 and 483: the agent's leg is PLACED after 8 seconds' ringing and 12 of
    talk. Its callingNumber is the queue's "718" (line 466), the number the queue leg was
    called on (line 410) by the client (line 409): the record names the client. Answered
    rows come first, so whoever keeps one row per call keeps the one saying who talked."""
    records = call_records([MENU, QUEUE, BUSY_AGENT, AGENT], AGENTS, recordings=True)

    first = records[0]
    assert first.answered and first.extension == "201"
    assert first.caller == CLIENT and first.callee == "+79165818888"
    assert first.talk_seconds == 12
    assert first.recording_ids == ("20105616:1",)  # the conversation's id (section 4.9)
    assert [r.answered for r in records] == [True, False, False, False]
    call = merged(records)
    assert call.answered and call.extension == "201" and call.caller == CLIENT
    assert call.talk_seconds == 12
    assert call.rang == ("201", "202")


def test_the_section_4_5_sample_rows_are_answered_calls() -> None:
    """Lines 242-254: PLACED with answerDuration 2 and duration 7, between extensions 202
    and 201; its plain extTrackingId ``21289855:1`` is the call and its recording."""
    sample = row(
        userId="X214G1A2I@nvg.ru",
        callTime=1558971019000,
        callingNumber="202",
        calledNumber="201",
        duration=7,
        status="PLACED",
        answerDuration=2,
        callGroupId="148625",
        extTrackingId="21289855:1",
    )
    [record] = call_records([sample], Abonents([]), recordings=True)

    assert record.answered and record.talk_seconds == 7
    assert record.call_id == "21289855:1"
    assert record.recording_ids == ("21289855:1",)
    assert call_records([sample], Abonents([]), recordings=False)[0].recording_ids == ()
