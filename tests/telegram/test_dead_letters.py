"""Every admin hears once, in their language, about an event that was set aside."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiogram import Bot
from redis.asyncio import Redis

from bot.domain import Language
from bot.storage import Keys, Repositories
from bot.telegram.dead_letters import DeadLetterNotice
from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox, Priority
from bot.texts import Texts

KEYS = Keys()
DEAD = KEYS.dead_letters(KEYS.events_stream())
ADMINS = [11, 12]


@pytest_asyncio.fixture
async def notice(redis: Redis) -> AsyncIterator[DeadLetterNotice]:
    repos = Repositories.over(redis, KEYS)
    await repos.users.set_language(12, Language.EN)
    bot = Bot("42:TEST")

    async def admins() -> list[int]:
        return ADMINS

    try:
        yield DeadLetterNotice(DEAD, admins, Notices(bot, Texts(), repos), Outbox(redis, KEYS))
    finally:
        await bot.session.close()


async def test_each_admin_is_told_once(notice: DeadLetterNotice, redis: Redis) -> None:
    await notice("1-0", {"event": "{}"}, 5)
    await notice("1-0", {"event": "{}"}, 5)  # the same entry again queues nothing new

    entries = await redis.xrange(KEYS.outbox(Priority.DIGEST)) or []
    assert [fields["slot"] for _, fields in entries if fields] == [
        KEYS.slot(f"dead:1-0:{admin}") for admin in ADMINS
    ]
    english = str(await redis.hget(KEYS.slot("dead:1-0:12"), "content"))
    assert f"could not be processed after 5 attempts. It is kept in {DEAD}" in english
    russian = str(await redis.hget(KEYS.slot("dead:1-0:11"), "content"))
    assert DEAD in russian and "5" in russian and "could not" not in russian
