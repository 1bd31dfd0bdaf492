"""The call log: finished calls by period, extension and client number, rewritten in place."""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from bot.events import CallSummaryEvent, Direction, Party
from bot.pipeline.sessions import CallSession
from bot.services.call_log import CallLog
from bot.storage import Keys
from tests.pipeline.test_sessions import CLIENT, RING_GROUP, T0, _state


def _finished(call_id: str, *, start: int = 0, answered: bool = True) -> CallSession:
    session = _state(RING_GROUP if answered else RING_GROUP[:4])
    session.call_id = call_id
    session.apply_summary(
        CallSummaryEvent(
            account="main",
            provider="mango",
            call_id=call_id,
            direction=Direction.INBOUND,
            caller=Party(number=CLIENT),
            callee=Party(extension="102" if answered else None, number="74950000000"),
            created_at=T0 + timedelta(minutes=start),
            answered_at=T0 + timedelta(minutes=start, seconds=9) if answered else None,
            ended_at=T0 + timedelta(minutes=start, seconds=60),
            answered=answered,
        )
    )
    return session


async def test_finished_calls_are_found_by_period_person_and_number(redis: Redis) -> None:
    log = CallLog(redis, Keys())
    first = await log.record(_finished("E1", start=0))
    await log.record(_finished("E2", start=10, answered=False))
    assert first is not None
    assert first.extension == "102"
    assert first.rang == ["101", "102"]
    assert first.wait_seconds == 9

    newest_first = await log.recent("main")
    assert [call.call_id for call in newest_first] == ["E2", "E1"]
    assert [c.call_id for c in await log.recent("main", number="+79001234567")] == ["E2", "E1"]
    assert [c.call_id for c in await log.recent("main", extension="101")] == ["E2", "E1"]
    assert await log.recent("main", extension="103") == []
    in_period = await log.between("main", T0, T0 + timedelta(minutes=10))
    assert [call.call_id for call in in_period] == ["E1"]
    assert (await log.by_ref(first.ref)) == first


async def test_unfinished_call_is_not_logged_and_rewrites_are_idempotent(redis: Redis) -> None:
    log = CallLog(redis, Keys())
    assert await log.record(_state(RING_GROUP)) is None
    session = _finished("E1")
    await log.record(session)
    session.recordings.append("R1")
    await log.record(session)
    [call] = await log.recent("main")
    assert call.recordings == ["R1"]
