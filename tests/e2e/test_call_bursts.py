"""Events of one call that arrive in a burst are applied to its session together (one lock,
one read, one save) and leave every chat exactly as the same events one by one do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import App
from bot.domain import Language
from bot.events import CallLegEvent, CallSummaryEvent, Direction, LegState, Party, PbxEvent
from bot.pipeline.consumer import Handling
from bot.pipeline.sessions import OpenSession, SessionStore
from bot.pipeline.stream import EventStream
from sandbox.telegram import TelegramEmulator
from tests.e2e.conftest import BORIS, LINE, REP_ANNA, drained

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def ring_group_call(call_id: str, client: str) -> list[PbxEvent]:
    """Anna (101) and Boris (102) ring; Boris answers and talks for 30 s; the summary."""
    base = {"account": "main", "provider": "mango", "call_id": call_id}
    caller = Party(number=client)
    events: list[PbxEvent] = []
    for seq, (extension, state, offset) in enumerate(
        [
            ("101", LegState.RINGING, 0),
            ("102", LegState.RINGING, 0),
            ("102", LegState.CONNECTED, 5),
            ("101", LegState.DISCONNECTED, 5),
            ("102", LegState.DISCONNECTED, 35),
        ],
        start=1,
    ):
        events.append(
            CallLegEvent(
                **base,
                leg_id=f"{call_id}-{extension}",
                seq=seq,
                state=state,
                at=T0 + timedelta(seconds=offset),
                location="abonent",
                caller=caller,
                callee=Party(extension=extension, number=LINE, line_number=LINE),
            )
        )
    events.append(
        CallSummaryEvent(
            **base,
            direction=Direction.INBOUND,
            caller=caller,
            callee=Party(extension="102", number=LINE, line_number=LINE),
            created_at=T0,
            answered_at=T0 + timedelta(seconds=5),
            ended_at=T0 + timedelta(seconds=35),
            answered=True,
        )
    )
    return events


class CountingStore(SessionStore):
    """The app's session store, counting how often a session is opened."""

    opened = 0

    def open(self, account: str, call_id: str, *, last_for: Handling | None = None) -> OpenSession:
        CountingStore.opened += 1
        return super().open(account, call_id, last_for=last_for)


def cards(emulator: TelegramEmulator, chat: int, client_shown: str) -> list[tuple[str, list[str]]]:
    """The text and button labels of the messages about the call with ``client_shown``."""
    return [
        (m.text.replace(client_shown, "CLIENT"), m.button_texts())
        for m in emulator.bot_messages(chat)
        if client_shown in m.text
    ]


async def test_a_burst_of_one_calls_events_ends_as_the_same_events_one_by_one(
    emulator: TelegramEmulator, staffed: App
) -> None:
    store = CountingStore(staffed.redis, staffed.keys)
    staffed.worker.sessions = store
    stream = EventStream(staffed.redis, staffed.keys)

    for event in ring_group_call("ONE-BY-ONE", "79001110000"):
        await stream.put([event])
        await drained(staffed)
    one_by_one = CountingStore.opened
    CountingStore.opened = 0

    await stream.put(ring_group_call("BURST", "79002220000"))
    await drained(staffed)

    assert one_by_one == 6
    assert CountingStore.opened < 6  # all but the first waited for it, and went together
    for chat in (REP_ANNA, BORIS):
        alone = cards(emulator, chat, "+7 900 111-00-00")
        together = cards(emulator, chat, "+7 900 222-00-00")
        assert together == alone, chat
        assert len(together) == 1, chat  # one card, edited in place
    [(anna, _)] = cards(emulator, REP_ANNA, "+7 900 222-00-00")
    assert "Ответил(а) Boris Ivanov" in anna
    [(boris, _)] = cards(emulator, BORIS, "+7 900 222-00-00")
    assert "Call ended" in boris
    assert "Talk time: 0:30" in boris


async def test_a_card_is_drawn_again_only_when_what_it_shows_may_change(
    emulator: TelegramEmulator, staffed: App
) -> None:
    drawn: list[str] = []
    render = staffed.texts.render

    def counting(language: Language, template_name: str, /, **context: Any) -> str:
        if template_name == "card":
            drawn.append(context["state"])
        return render(language, template_name, **context)

    staffed.texts.render = counting  # type: ignore[method-assign]
    stream = EventStream(staffed.redis, staffed.keys)
    for event in ring_group_call("DRAWN", "79003330000"):
        await stream.put([event])
        await drained(staffed)

    # Six events, two cards: drawn each time one of them may look different, not on every
    # event (eleven times); and once the call is over, Boris's card gets its closing
    # buttons under the same text, which is not drawn again.
    assert drawn == ["ringing", "ringing", "colleague", "talking", "ended", "colleague"]
    [(anna, _)] = cards(emulator, REP_ANNA, "+7 900 333-00-00")
    assert "Ответил(а) Boris Ivanov" in anna
    [(boris, _)] = cards(emulator, BORIS, "+7 900 333-00-00")
    assert "Talk time: 0:30" in boris
