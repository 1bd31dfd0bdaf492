"""Following Mobilon calls against the simulator and a real Redis: which journal record is
which call, the one summary per call, giving up, and a recording that comes late."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest_asyncio
from redis.asyncio import Redis

from bot.events import CallLegEvent, CallSummaryEvent, LegState, PbxEvent, RecordingEvent
from bot.pbx.base import ProviderDeps
from bot.pbx.mobilon.account import MobilonAccount
from bot.pbx.mobilon.poller import Follower, FollowTiming
from bot.pbx.mobilon.provider import MobilonProvider
from bot.pbx.mobilon.redis_keys import MobilonKeys
from bot.pipeline.stream import EventStream, decode_event
from bot.storage import Keys
from sandbox.mobilon import MobilonSimulator, SimCall, Subscriber
from sandbox.mobilon.calls import now_msk
from tests.secret_keys import TEST_BOX

TOKEN = "account-token-1234"
CLIENT = "79001234567"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[MobilonSimulator]:
    async with MobilonSimulator(TOKEN, step_delay=0) as simulator:
        simulator.outbound_ends = False
        simulator.add_subscriber(Subscriber(extension="101", key="anna-key-0001"))
        simulator.add_subscriber(Subscriber(extension="102", key="boris-key-0002"))
        yield simulator


@pytest_asyncio.fixture
async def provider(sim: MobilonSimulator, redis: Redis) -> AsyncIterator[MobilonProvider]:
    account = MobilonAccount(id="mob", provider="mobilon", api_token=TOKEN, api_url=sim.base_url)
    async with httpx.AsyncClient() as http:
        found = MobilonProvider(account, ProviderDeps(http=http, redis=redis, secret_box=TEST_BOX))
        await found.employee_keys.set("mob", "101", "anna-key-0001")
        yield found


async def ring(
    provider: MobilonProvider, sim: SimCall, extensions: list[str], *, ago: int = 0
) -> str:
    """What the webhook does for each ring (``ago`` seconds ago); the call id."""
    call_id = ""
    at = datetime.now(UTC) - timedelta(seconds=ago)
    for extension in extensions:
        sim.rang.append(extension)
        call_id = await provider.calls.ring("mob", sim.caller, "+" + sim.caller, extension, at)
    return call_id


def inbound(mobilon: MobilonSimulator, *, began_ago: int = 0, number: str = CLIENT) -> SimCall:
    call = SimCall(
        callid=mobilon.ids.next(),
        direction="inbound",
        caller=number,
        callee=mobilon.line,
        started=now_msk() - timedelta(seconds=began_ago),
    )
    mobilon.calls[call.callid] = call
    return call


async def tick(provider: MobilonProvider, redis: Redis, **timing: object) -> list[PbxEvent]:
    """One poll (everything due now); the events it stored."""
    stream = EventStream(redis, Keys())
    before = len(await redis.xrange(Keys().events_stream()) or [])
    followed = MobilonKeys.of(Keys(), "mob").followed()
    due_now = {str(m): 0 for m in await redis.zrange(followed, 0, -1)}
    if due_now:
        await redis.zadd(followed, due_now, xx=True)
    await Follower(provider, stream, FollowTiming(**timing)).tick(time.time() + 1)  # type: ignore[arg-type]
    entries = await redis.xrange(Keys().events_stream()) or []
    return [decode_event(str(fields["event"])) for _, fields in entries[before:] if fields]


def summaries(events: list[PbxEvent]) -> list[CallSummaryEvent]:
    return [e for e in events if isinstance(e, CallSummaryEvent)]


async def test_nothing_is_reported_while_the_journal_has_no_record(
    sim: MobilonSimulator, provider: MobilonProvider, redis: Redis
) -> None:
    call = inbound(sim)
    await ring(provider, call, ["101"])

    assert await tick(provider, redis) == []
    sim.finish(call, answered_by=None)
    [summary] = summaries(await tick(provider, redis))
    assert summary.answered is False
    assert await tick(provider, redis) == []  # reported once


async def test_an_earlier_call_from_the_number_is_not_taken_for_this_one(
    sim: MobilonSimulator, provider: MobilonProvider, redis: Redis
) -> None:
    earlier = inbound(sim, began_ago=300)  # hung up in the voice menu five minutes ago
    sim.finish(earlier, answered_by=None)
    earlier.duration = 20
    call = inbound(sim, began_ago=15)
    call_id = await ring(provider, call, ["101", "102"])

    assert await tick(provider, redis) == []
    sim.finish(call, answered_by="102", record=False)
    events = await tick(provider, redis)

    [summary] = summaries(events)
    assert (summary.call_id, summary.answered, summary.callee.extension) == (call_id, True, "102")
    assert summary.raw["callid"] == call.callid
    legs = [(e.leg_id, e.state) for e in events if isinstance(e, CallLegEvent)]
    assert legs == [
        (f"{call_id}:101", LegState.DISCONNECTED),
        (f"{call_id}:102", LegState.CONNECTED),
        (f"{call_id}:102", LegState.DISCONNECTED),
    ]


async def test_two_calls_from_one_number_get_their_own_records(
    sim: MobilonSimulator, provider: MobilonProvider, redis: Redis
) -> None:
    first = inbound(sim, began_ago=200)
    first_id = await ring(provider, first, ["101"], ago=195)
    sim.finish(first, answered_by="101", talk=0, record=False)
    first.duration = 250  # it was still going when the second call came
    await provider.calls.close_ringing(
        "mob",
        (await provider.calls.load("mob", first_id)),  # type: ignore[arg-type]
    )
    second = inbound(sim, began_ago=10)
    second_id = await ring(provider, second, ["102"])
    assert first_id != second_id
    sim.finish(second, answered_by=None)

    reported = {s.call_id: s for s in summaries(await tick(provider, redis))}

    assert reported[first_id].raw["callid"] == first.callid and reported[first_id].answered
    assert reported[second_id].raw["callid"] == second.callid
    assert not reported[second_id].answered


async def test_a_call_never_recorded_is_reported_unanswered_once_given_up(
    sim: MobilonSimulator, provider: MobilonProvider, redis: Redis
) -> None:
    call = inbound(sim)
    call_id = await ring(provider, call, ["101"])

    events = await tick(provider, redis, give_up=timedelta(0))

    [summary] = summaries(events)
    assert (summary.call_id, summary.answered) == (call_id, False)
    assert await redis.zcard(MobilonKeys.of(Keys(), "mob").followed()) == 0


async def test_a_recording_that_comes_later_is_reported(
    sim: MobilonSimulator, provider: MobilonProvider, redis: Redis
) -> None:
    await provider.callback("101", CLIENT)
    [callid] = list(sim.calls)
    sim.finish(sim.calls[callid], answered_by="101", record=False)

    events = await tick(provider, redis)
    [summary] = summaries(events)
    assert summary.answered and summary.callee.number == CLIENT
    assert summary.caller.extension == "101"
    assert not [e for e in events if isinstance(e, RecordingEvent)]

    assert await tick(provider, redis) == []
    sim.calls[callid].recorded = True
    [recording] = await tick(provider, redis)
    assert isinstance(recording, RecordingEvent)
    assert (recording.recording_id, recording.call_id, recording.extension) == (
        callid,
        callid,
        "101",
    )
    assert await redis.zcard(MobilonKeys.of(Keys(), "mob").followed()) == 0
