"""What a crash-proof takeover rests on: a live consumer keeps its slow entries, a lock
outlives its expiry while held and frees at once after, and card rendering never queues
behind a PBX directory that does not answer."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import LockError

from bot.pbx.base import ProviderDeps
from bot.pbx.mango.account import MangoAccount
from bot.pbx.mango.provider import MangoProvider
from bot.pbx.providers import Providers
from bot.pipeline.consumer import ConsumerOptions, Entry, StreamConsumer
from bot.ratelimit import SharedRateLimiter
from bot.services.employee_names import FAILED_CACHE_SECONDS, DirectoryCache
from bot.storage import Keys
from bot.storage.lease import lease
from tests.conftest import MANGO_ACCOUNT

# Reclaims run every 20 ms and take entries idle for 50 ms: a 1 s handler would be taken
# over about fifty times, and dead-lettered after three, if its consumer did not keep it.
QUICK_TAKEOVER = ConsumerOptions(
    block_ms=20, claim_idle_ms=50, claim_every_s=0.02, max_deliveries=3
)


async def test_a_live_consumer_keeps_an_entry_it_handles_for_long(redis: Redis) -> None:
    calls: Counter[str] = Counter()
    done = asyncio.Event()

    async def slow(entry_id: str, fields: Entry) -> None:
        calls[entry_id] += 1
        await asyncio.sleep(1.0)
        done.set()

    entry_id = str(await redis.xadd("s", {"n": "1"}))
    consumer = StreamConsumer(
        redis, "s", "g", "live", slow, dead_letter_stream="s:dead", options=QUICK_TAKEOVER
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(done.wait(), 30)
    finally:
        stop.set()
        await task

    assert calls == {entry_id: 1}
    assert await redis.xlen("s:dead") == 0
    assert (await redis.xpending("s", "g"))["pending"] == 0


async def test_a_lease_is_kept_past_its_expiry_while_held_and_freed_on_exit(
    redis: Redis,
) -> None:
    async with lease(redis, "thing:lock", wait=1, ttl=0.3):
        await asyncio.sleep(1.0)  # more than three expiries
        assert await redis.exists("thing:lock")
        with pytest.raises(LockError):
            async with lease(redis, "thing:lock", wait=0):
                pass
    assert not await redis.exists("thing:lock")
    async with lease(redis, "thing:lock", wait=0):
        pass


async def test_directory_lookups_share_one_request_and_remember_a_failure(
    redis: Redis,
) -> None:
    requests: list[str] = []

    async def unreachable(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        await asyncio.sleep(0.2)  # long enough for every lookup below to miss the cache
        raise httpx.ConnectError("connection timed out", request=request)

    account = MangoAccount.model_validate(MANGO_ACCOUNT)
    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as http:
        provider = MangoProvider(account, ProviderDeps(http=http, limiter=SharedRateLimiter(redis)))
        directory = DirectoryCache(redis, Keys(), Providers({"main": provider}))
        lookups = asyncio.gather(*(directory.names("main") for _ in range(20)))
        names = await asyncio.wait_for(lookups, 10)
        for _ in range(20):
            names.append(await directory.names("main"))

    # The directory endpoint allows one request every two seconds: without sharing and
    # remembering, these 40 lookups would have queued for over a minute.
    assert names == [{}] * 40
    assert requests == ["/vpbx/config/users/request"]
    assert 0 < await redis.ttl(Keys().directory("main")) <= FAILED_CACHE_SECONDS
