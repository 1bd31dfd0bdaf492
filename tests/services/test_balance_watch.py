"""The low-balance watch decides each change once, over restarts and replicas."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from aiogram import Bot
from redis.asyncio import Redis

from bot.config import Settings
from bot.domain import Balance, Language, Role
from bot.formatting import moment, money
from bot.pbx.providers import Providers
from bot.services.balance_watch import BalanceWatch
from bot.storage import Keys, Repositories
from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox, Priority
from bot.texts import Texts
from sandbox.mango import MangoLimits, MangoSimulator
from tests.conftest import MANGO_ACCOUNT

NBSP = "\u00a0"
MANAGER, REP, ADMIN = 501, 502, 503

WatchFactory = Callable[[], BalanceWatch]


@pytest_asyncio.fixture
async def mango() -> AsyncIterator[MangoSimulator]:
    async with MangoSimulator(
        MANGO_ACCOUNT["api_key"], MANGO_ACCOUNT["api_salt"], limits=MangoLimits.disabled()
    ) as sim:
        yield sim


@pytest_asyncio.fixture
async def new_watch(
    mango: MangoSimulator, make_settings: Callable[..., Settings], redis: Redis
) -> AsyncIterator[WatchFactory]:
    """Builds watches as separate processes would: each with its own provider and objects."""
    settings = make_settings(
        admin_ids=[ADMIN],
        accounts=[{**MANGO_ACCOUNT, "api_url": mango.base_url, "balance_alert_below": 1000}],
    )
    keys = Keys()
    repos = Repositories.over(redis, keys)
    await repos.links.link("main", "101", MANAGER)
    await repos.users.set_role(MANAGER, Role.MANAGER)
    await repos.links.link("main", "102", REP)
    await repos.users.set_role(REP, Role.REP)
    await repos.links.link("main", "103", ADMIN)  # an admin by ADMIN_IDS, with no stored role
    async with httpx.AsyncClient() as http:
        bot = Bot("42:TEST")
        texts = Texts()

        def build() -> BalanceWatch:
            return BalanceWatch(
                redis,
                keys,
                settings,
                Providers.from_settings(settings, http),
                repos,
                Outbox(redis, keys),
                Notices(bot, texts, repos),
            )

        try:
            yield build
        finally:
            await bot.session.close()


async def _queued(redis: Redis) -> int:
    return int(await redis.xlen(Keys().outbox(Priority.MISSED)))


async def _check(watch: BalanceWatch) -> None:
    for account in watch.watched():
        await watch.check(account)


async def test_a_restart_does_not_alert_again(
    mango: MangoSimulator, new_watch: WatchFactory, redis: Redis
) -> None:
    await _check(new_watch())
    assert await _queued(redis) == 0  # above the level: nothing to say

    mango.balance = (Decimal("450"), "RUB")
    await _check(new_watch())
    assert await _queued(redis) == 2  # the manager and the admin, not the rep

    await _check(new_watch())  # restarted, or another replica
    await _check(new_watch())
    assert await _queued(redis) == 2

    mango.balance = (Decimal("1000"), "RUB")  # at the level is not below it
    await _check(new_watch())
    await _check(new_watch())
    assert await _queued(redis) == 4
    entries = await redis.xrange(Keys().outbox(Priority.MISSED)) or []
    slots = [str(fields["slot"]) for _, fields in entries if fields]
    assert slots == [
        Keys().slot(f"balance:main:{episode}:{chat}")
        for episode in (2, 3)
        for chat in (MANAGER, ADMIN)
    ]


async def test_a_change_recorded_but_not_announced_is_announced_once(
    new_watch: WatchFactory, redis: Redis
) -> None:
    watch = new_watch()
    low = Balance(
        account="main", amount=Decimal("12.5"), currency="RUB", at=datetime(2026, 3, 2, tzinfo=UTC)
    )
    await watch.record(low, Decimal(1000))  # then the process died

    change = await new_watch().unannounced("main")
    assert change is not None
    await new_watch().announce(change)
    await new_watch().announce(change)  # the same decision again queues nothing new
    assert await new_watch().unannounced("main") is None
    assert await _queued(redis) == 2

    slot = await redis.hget(Keys().slot(f"balance:main:1:{MANAGER}"), "content")
    assert slot is not None
    assert (
        f"на аккаунте АТС main: 12,50{NBSP}₽, порог — 1{NBSP}000,00{NBSP}₽ "
        "(данные на 2 марта 2026, 03:00)" in str(slot)
    )


async def test_one_replica_takes_each_period(new_watch: WatchFactory) -> None:
    first, second = new_watch(), new_watch()

    assert await first.due(60)
    assert not await second.due(60)
    assert not await first.due(60)


@pytest.mark.parametrize(
    ("amount", "currency", "language", "shown"),
    [
        (Decimal("963592.45"), "RUB", Language.RU, f"963{NBSP}592,45{NBSP}₽"),
        (Decimal("963592.45"), "RUB", Language.EN, f"RUB{NBSP}963,592.45"),
        (Decimal("-5"), "RUB", Language.RU, f"-5,00{NBSP}₽"),
        (Decimal("1234.5"), "USD", Language.EN, "$1,234.50"),
        (Decimal("1234.5"), "KZT", Language.RU, f"1{NBSP}234,50{NBSP}₸"),
        (Decimal("0.004"), "XYZ", Language.RU, f"0,00{NBSP}XYZ"),
    ],
)
def test_money(amount: Decimal, currency: str, language: Language, shown: str) -> None:
    assert money(amount, currency, language) == shown


def test_moment_in_the_readers_zone() -> None:
    at = datetime(2019, 1, 24, 14, 55, 24, tzinfo=UTC)
    zone = ZoneInfo("Europe/Moscow")

    assert moment(at, zone, Language.RU) == "24 января 2019, 17:55"
    assert moment(at, zone, Language.EN) == "24 Jan 2019, 17:55"
