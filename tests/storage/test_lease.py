"""Leases: renewed while held, and a holder that lost its lease does not write over the
one that took it."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.exceptions import LockNotOwnedError

from bot.events import Direction
from bot.pipeline.sessions import SessionStore
from bot.storage import Keys
from bot.storage.lease import lease

KEYS = Keys()


async def test_a_lease_outlives_its_ttl_while_held(redis: Redis) -> None:
    async with lease(redis, "job", wait=1, ttl=1.0) as held:
        await asyncio.sleep(2.5)
        assert await redis.get("job") == held.token.decode()
        assert not held.lost.is_set()
    assert await redis.exists("job") == 0


async def test_a_lease_taken_by_another_is_reported_lost(redis: Redis) -> None:
    async def taken_over() -> None:
        async with lease(redis, "job", wait=1, ttl=0.3) as held:
            await redis.set("job", "another-holder", px=5_000)
            await asyncio.wait_for(held.lost.wait(), 2)

    with pytest.raises(LockNotOwnedError):  # releasing what is no longer its own
        await taken_over()
    assert await redis.get("job") == "another-holder"


async def test_a_session_whose_lock_expired_is_not_saved(redis: Redis) -> None:
    store = SessionStore(redis, KEYS)
    async with store.open("main", "c1") as session:
        session.client_number = "+79001234567"
    lock_key = f"{KEYS.call_session('main', 'c1')}:lock"

    async def stood_still_too_long() -> None:
        async with store.open("main", "c1") as session:
            await redis.set(lock_key, "another-worker", px=5_000)
            session.direction = Direction.OUTBOUND

    with pytest.raises(LockNotOwnedError):
        await stood_still_too_long()
    stored = await store.get("main", "c1")
    assert stored is not None
    assert stored.client_number == "+79001234567"
    assert stored.direction is Direction.UNKNOWN
