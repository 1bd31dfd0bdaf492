"""The buttons a card offers for acting on its call, and what a session learns when a call
is passed between people."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import Language
from bot.events import CallLegEvent, LegState, Party
from bot.pbx.base import Capability, Provider
from bot.pipeline.card_controls import Rows, control_rows
from bot.pipeline.sessions import ActionKind, ActionState, CardAction
from bot.texts import Texts
from tests.pipeline.test_sessions import CLIENT, RING_GROUP, T0, _state, leg

EN = Texts().bind(Language.EN)


class Offering(Provider):
    """A PBX offering exactly ``capabilities``."""

    def __init__(self, *capabilities: Capability) -> None:  # no account: only asked what it can
        self.capabilities = frozenset(capabilities)


def labels(rows: Rows) -> list[str]:
    return [button.text for row in rows for button in row]


def test_a_live_card_offers_what_the_pbx_can_do() -> None:
    session = _state(RING_GROUP[:6])
    everything = Offering(*Capability)
    assert labels(control_rows(EN, session, "102", "talking", everything)) == [
        "↪️ Transfer",
        "⏺ Record",
        "⛔ Hang up",
    ]
    mts_like = Offering(Capability.TRANSFER, Capability.HANGUP)
    assert labels(control_rows(EN, session, "102", "talking", mts_like)) == [
        "↪️ Transfer",
        "⛔ Hang up",
    ]
    assert control_rows(EN, session, "102", "talking", Offering()) == ()
    assert control_rows(EN, session, "102", "talking", None) == ()


def test_recording_once_started_is_not_offered_again_unless_it_failed() -> None:
    session = _state(RING_GROUP[:6])
    session.actions["102"] = CardAction(kind=ActionKind.RECORD, by=1, state=ActionState.ACCEPTED)
    assert "⏺ Record" not in labels(
        control_rows(EN, session, "102", "talking", Offering(*Capability))
    )
    session.actions["102"] = CardAction(kind=ActionKind.RECORD, by=1, state=ActionState.FAILED)
    assert "⏺ Record" in labels(control_rows(EN, session, "102", "talking", Offering(*Capability)))


def test_a_ringing_card_offers_routing_only_where_the_pbx_routes() -> None:
    session = _state(RING_GROUP[:4])
    assert labels(control_rows(EN, session, "102", "ringing", Offering(*Capability))) == [
        "📲 To my mobile",
        "↪️ To a colleague",
    ]
    assert control_rows(EN, session, "102", "ringing", Offering(Capability.TRANSFER)) == ()


def test_finished_or_other_states_offer_nothing() -> None:
    session = _state(RING_GROUP)
    for state in ("ended", "missed", "colleague", "stopped"):
        assert control_rows(EN, session, "102", state, Offering(*Capability)) == ()


def test_a_leg_to_a_number_a_call_was_sent_to_for_someone_is_theirs() -> None:
    session = _state(RING_GROUP[:4])
    session.forwarded["+79165550011"] = "102"
    mobile = CallLegEvent(
        account="main",
        provider="mango",
        call_id="E1",
        leg_id="m",
        seq=1,
        state=LegState.CONNECTED,
        at=T0 + timedelta(seconds=12),
        location="abonent",
        caller=Party(number=CLIENT),
        callee=Party(number="79165550011"),
    )
    session.apply_leg(mobile)
    assert session.answered_by == "102"
    assert session.talkers == ["102"]


def test_talkers_in_the_order_they_talked() -> None:
    session = _state(RING_GROUP[:6])
    session.apply_leg(leg("c", 1, LegState.RINGING, "101", at=30))
    session.apply_leg(leg("c", 2, LegState.CONNECTED, "101", at=32))
    assert session.talkers == ["102", "101"]
