from __future__ import annotations

from redis.asyncio import Redis

from bot.domain import Language, Role, SubscriptionKind
from bot.storage import Repositories


async def test_link_moves_extension_between_users(redis: Redis) -> None:
    repos = Repositories.over(redis)
    assert await repos.links.link("main", "101", 1) is None
    replaced = await repos.links.link("main", "101", 2)

    assert replaced is not None
    assert replaced.telegram_id == 1
    assert await repos.links.of_user(1) == []
    assert [link.extension for link in await repos.links.of_user(2)] == ["101"]
    by_ext = await repos.links.by_extension("main", "101")
    assert by_ext is not None
    assert by_ext.telegram_id == 2


async def test_relinking_user_frees_old_extension(redis: Redis) -> None:
    repos = Repositories.over(redis)
    await repos.links.link("main", "101", 1)
    await repos.links.link("main", "105", 1)

    assert await repos.links.by_extension("main", "101") is None
    assert [
        (link.extension, link.telegram_id) for link in await repos.links.of_account("main")
    ] == [("105", 1)]


async def test_invite_is_single_use(redis: Redis) -> None:
    repos = Repositories.over(redis)
    invite = await repos.invites.create("main", "101", Role.MANAGER, created_by=7)

    ttl = await redis.ttl(f"pbxgram:invite:{invite.code}")
    assert 23 * 3600 < ttl <= 24 * 3600
    first = await repos.invites.consume(invite.code)
    assert first is not None
    assert first.role is Role.MANAGER
    assert await repos.invites.consume(invite.code) is None
    assert await repos.invites.consume("") is None


async def test_users_roles_and_languages(redis: Redis) -> None:
    repos = Repositories.over(redis)
    await repos.users.touch(5, "Anna", "anna")
    await repos.users.set_role(5, Role.ADMIN)
    await repos.users.set_language(5, Language.EN)
    await repos.users.touch(3, "Boris", None)

    users = await repos.users.all()
    assert [u.telegram_id for u in users] == [3, 5]
    assert users[1].role is Role.ADMIN
    assert users[1].language is Language.EN


async def test_subscriptions_indexed_both_ways(redis: Redis) -> None:
    repos = Repositories.over(redis)
    assert await repos.subscriptions.subscribe(-100, "main", SubscriptionKind.MISSED)
    assert not await repos.subscriptions.subscribe(-100, "main", SubscriptionKind.MISSED)
    await repos.subscriptions.subscribe(-200, "main", SubscriptionKind.MISSED)

    assert await repos.subscriptions.chats("main", SubscriptionKind.MISSED) == [-200, -100]
    await repos.subscriptions.forget_chat(-100)
    assert await repos.subscriptions.chats("main", SubscriptionKind.MISSED) == [-200]
    assert await repos.subscriptions.of_chat(-100) == []
