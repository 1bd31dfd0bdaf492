"""Call sessions: ring groups, stale and duplicate events, summaries."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from bot.events import CallLegEvent, CallSummaryEvent, Direction, LegState, Party
from bot.pipeline.sessions import CallSession

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CLIENT = "79001234567"


def leg(
    leg_id: str, seq: int, state: LegState, ext: str | None, *, loc: str = "abonent", at: int = 0
) -> CallLegEvent:
    return CallLegEvent(
        account="main",
        provider="mango",
        call_id="E1",
        leg_id=leg_id,
        seq=seq,
        state=state,
        at=T0 + timedelta(seconds=at),
        location=loc,
        caller=Party(number=CLIENT),
        callee=Party(
            extension=ext,
            number="74950000000",
            line_number="74950000000",
            group="500" if ext else None,
        ),
    )


RING_GROUP = [
    leg("ivr", 1, LegState.RINGING, None, loc="ivr"),
    leg("ivr", 2, LegState.DISCONNECTED, None, loc="ivr", at=5),
    leg("a", 1, LegState.RINGING, "101", at=6),
    leg("b", 1, LegState.RINGING, "102", at=6),
    leg("b", 2, LegState.CONNECTED, "102", at=9),
    leg("a", 2, LegState.DISCONNECTED, "101", at=9),
    leg("b", 3, LegState.DISCONNECTED, "102", at=60),
]


def _state(events: list[CallLegEvent]) -> CallSession:
    session = CallSession(account="main", call_id="E1")
    for event in events:
        session.apply_leg(event)
    return session


def test_ring_group_answered_by_one() -> None:
    session = _state(RING_GROUP)
    assert session.direction is Direction.INBOUND
    assert session.client_number == "+79001234567"
    assert session.rang == ["101", "102"]
    assert session.answered_by == "102"
    assert session.group == "500"


def test_duplicates_and_any_order_give_the_same_state() -> None:
    clean = _state(RING_GROUP).model_dump()
    assert _state(RING_GROUP + RING_GROUP).model_dump() == clean
    for order in itertools.islice(itertools.permutations(RING_GROUP[2:]), 0, 720, 37):
        shuffled = _state([*RING_GROUP[:2], *order])
        assert shuffled.answered_by == "102"
        assert {k: v.state for k, v in shuffled.legs.items()} == {
            k: v.state for k, v in _state(RING_GROUP).legs.items()
        }


def test_stale_event_is_ignored() -> None:
    session = _state(RING_GROUP)
    assert not session.apply_leg(leg("b", 2, LegState.CONNECTED, "102", at=9))
    assert session.legs["b"].state is LegState.DISCONNECTED


def test_summary_marks_missed() -> None:
    session = _state(
        [leg("a", 1, LegState.RINGING, "101"), leg("a", 2, LegState.DISCONNECTED, "101")]
    )
    session.apply_summary(
        CallSummaryEvent(
            account="main",
            provider="mango",
            call_id="E1",
            direction=Direction.INBOUND,
            caller=Party(number=CLIENT),
            callee=Party(extension="101"),
            created_at=T0,
            ended_at=T0 + timedelta(seconds=30),
            answered=False,
        )
    )
    assert session.finished
    assert session.answered is False
    assert session.answered_by is None


def test_the_newest_comment_stays_whatever_order_its_events_come_in() -> None:
    newer = leg("b", 2, LegState.CONNECTED, "102", at=9).model_copy(
        update={"comment": "wants a quote", "comment_version": 2}
    )
    older = leg("b", 3, LegState.DISCONNECTED, "102", at=60).model_copy(
        update={"comment": "VIP", "comment_version": 1}
    )
    session = _state([*RING_GROUP[:4], newer, older])
    assert session.comment == "wants a quote"
