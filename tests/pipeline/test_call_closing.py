"""Ending calls of PBXs without summaries: one summary per call, only once every leg has
ended and the grace has passed, and none while the call moved on to another leg."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from bot.events import CallLegEvent, CallSummaryEvent, Direction, LegState, Party
from bot.pipeline.closing import CallCloser
from bot.pipeline.sessions import SessionStore
from bot.pipeline.stream import EventStream, decode_event
from bot.storage import Keys

T0 = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)
KEYS = Keys()


def leg(ext: str, state: LegState, seconds: float, seq: int) -> CallLegEvent:
    return CallLegEvent(
        account="mts",
        provider="mts",
        call_id="c1",
        leg_id=f"leg-{ext}",
        seq=seq,
        state=state,
        at=T0 + timedelta(seconds=seconds),
        caller=Party(number="+79001234567"),
        callee=Party(extension=ext),
    )


async def apply(store: SessionStore, closer: CallCloser, event: CallLegEvent) -> None:
    async with store.open("mts", "c1") as session:
        session.apply_leg(event)
        await closer.watch(session)


async def summaries(redis: Redis) -> list[Any]:
    entries: list[Any] = list(await redis.xrange(KEYS.events_stream()) or [])
    return [decode_event(fields["event"]) for _, fields in entries]


def closer_over(redis: Redis) -> tuple[SessionStore, CallCloser]:
    store = SessionStore(redis, KEYS)
    closer = CallCloser(
        redis, KEYS, store, EventStream(redis, KEYS), {"mts": 5.0}, {"mts": "mts", "main": "x"}
    )
    return store, closer


async def test_a_call_is_closed_once_after_the_grace(redis: Redis) -> None:
    store, closer = closer_over(redis)
    await apply(store, closer, leg("101", LegState.RINGING, 0, 1))
    await apply(store, closer, leg("102", LegState.RINGING, 0, 1))
    await apply(store, closer, leg("102", LegState.CONNECTED, 3, 2))
    await apply(store, closer, leg("101", LegState.DISCONNECTED, 3, 3))
    assert await redis.zcard(KEYS.calls_closing()) == 0  # 102 still talks
    await apply(store, closer, leg("102", LegState.DISCONNECTED, 33, 3))

    end = (T0 + timedelta(seconds=33)).timestamp()
    assert await closer.close_due(end + 4.9) == 0
    assert await closer.close_due(end + 5) == 1
    assert await closer.close_due(end + 60) == 0  # exactly once

    [summary] = await summaries(redis)
    assert isinstance(summary, CallSummaryEvent)
    assert summary.direction is Direction.INBOUND
    assert summary.answered
    assert summary.talk_seconds == 30
    assert summary.callee == Party(extension="102")
    assert summary.caller == Party(number="+79001234567")
    assert summary.provider == "mts"


async def test_a_call_that_moves_on_is_not_closed_early(redis: Redis) -> None:
    store, closer = closer_over(redis)
    await apply(store, closer, leg("101", LegState.RINGING, 0, 1))
    await apply(store, closer, leg("101", LegState.DISCONNECTED, 10, 3))
    await apply(store, closer, leg("102", LegState.RINGING, 12, 1))  # the queue's next agent
    end = (T0 + timedelta(seconds=10)).timestamp()
    assert await closer.close_due(end + 5) == 0
    await apply(store, closer, leg("102", LegState.DISCONNECTED, 20, 3))

    assert await closer.close_due(end + 9.9) == 0  # due 5 s after the *last* leg
    assert await closer.close_due(end + 15) == 1
    [summary] = await summaries(redis)
    assert not summary.answered
    assert summary.callee == Party(extension="101")  # the first it rang


async def test_accounts_with_summaries_are_left_alone(redis: Redis) -> None:
    store, closer = closer_over(redis)
    event = leg("101", LegState.DISCONNECTED, 1, 3).model_copy(update={"account": "main"})
    async with store.open("main", "c1") as session:
        session.apply_leg(event)
        await closer.watch(session)
    assert await redis.zcard(KEYS.calls_closing()) == 0
