"""Who is on a call right now: talking or holding counts, ringing and ended do not, and a
call's end never frees someone already on their next call."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.events import LegState
from bot.pipeline.sessions import CallSession
from bot.services.presence import Presence
from bot.storage import Keys
from tests.pipeline.test_sessions import RING_GROUP, _state, leg


async def test_talking_and_holding_are_busy_ringing_and_ended_are_not(redis: Redis) -> None:
    presence = Presence(redis, Keys())
    ringing = _state(RING_GROUP[:4])
    await _follow(redis, presence, ringing)
    assert await presence.busy("main") == set()

    talking = _state(RING_GROUP[:6])
    await _follow(redis, presence, talking)
    assert await presence.busy("main") == {"102"}

    talking.apply_leg(leg("b", 4, LegState.ON_HOLD, "102", at=20))
    await _follow(redis, presence, talking)
    assert await presence.busy("main") == {"102"}

    talking.apply_leg(leg("b", 5, LegState.DISCONNECTED, "102", at=60))  # the call ends
    await _follow(redis, presence, talking)
    assert await presence.busy("main") == set()


async def test_a_call_whose_busy_people_did_not_change_writes_nothing(redis: Redis) -> None:
    presence = Presence(redis, Keys())
    talking = _state(RING_GROUP[:6])
    await _follow(redis, presence, talking)
    await redis.delete(Keys().busy("main"))
    await _follow(redis, presence, talking)  # nothing changed since the last note
    assert await presence.busy("main") == set()


async def test_the_end_of_an_old_call_leaves_the_next_one_busy(redis: Redis) -> None:
    presence = Presence(redis, Keys())
    first = _state(RING_GROUP[:6])
    await _follow(redis, presence, first)
    second = _state(RING_GROUP[:6])
    second.call_id = "E2"
    await _follow(redis, presence, second)  # 102 moved on to another call
    first.apply_leg(RING_GROUP[6])
    await _follow(redis, presence, first)
    assert await presence.busy("main") == {"102"}


async def _follow(redis: Redis, presence: Presence, session: CallSession) -> None:
    """Follow the session and write what it decided, as its save does."""
    presence.follow(session)
    async with redis.pipeline(transaction=False) as pipe:
        if session.writes.apply(pipe):
            await pipe.execute()
