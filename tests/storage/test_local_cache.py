"""People kept in the process: used only while the change channel is heard, and
forgotten in every process when any of them writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
from redis.asyncio import Redis

from bot.domain import Role, User
from bot.storage import Invalidations, Keys, Repositories
from tests.helpers import until

KEYS = Keys()


@pytest_asyncio.fixture
async def listening(redis: Redis) -> AsyncIterator[Invalidations]:
    changes = Invalidations(redis)
    stop = asyncio.Event()
    task = asyncio.create_task(changes.listen(stop))
    await until(lambda: changes.live)
    yield changes
    stop.set()
    await task


async def test_a_listening_process_reads_a_user_once(
    redis: Redis, listening: Invalidations
) -> None:
    repos = Repositories.over(redis, KEYS, listening)
    await repos.users.save(User(telegram_id=7, first_name="Anna"))
    await asyncio.sleep(0.2)  # its own announcement heard
    first = await repos.users.get(7)
    assert first is not None and first.first_name == "Anna"
    # Written behind the repositories' back: the copy is still what is shown.
    await redis.set(KEYS.user(7), User(telegram_id=7, first_name="Other").model_dump_json())
    user = await repos.users.get(7)
    assert user is not None and user.first_name == "Anna"


async def test_a_change_in_another_process_is_heard(redis: Redis, listening: Invalidations) -> None:
    here = Repositories.over(redis, KEYS, listening)
    elsewhere = Repositories.over(redis, KEYS)  # a CLI, say: it does not listen
    await elsewhere.users.save(User(telegram_id=8, first_name="Boris"))
    assert (await here.users.get(8)) is not None
    assert (await here.links.by_extension("main", "101")) is None
    await elsewhere.users.set_role(8, Role.MANAGER)
    await elsewhere.links.link("main", "101", 8)

    for _ in range(200):
        user = await here.users.get(8)
        link = await here.links.by_extension("main", "101")
        if user is not None and user.role is Role.MANAGER and link is not None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the change made elsewhere was never heard")


async def test_without_a_listener_every_read_goes_to_redis(redis: Redis) -> None:
    repos = Repositories.over(redis, KEYS)
    await repos.users.save(User(telegram_id=9, first_name="Maria"))
    assert (await repos.users.get(9)) is not None
    await redis.set(KEYS.user(9), User(telegram_id=9, first_name="Other").model_dump_json())
    user = await repos.users.get(9)
    assert user is not None and user.first_name == "Other"
