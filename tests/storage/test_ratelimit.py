"""The shared rate limiter: many concurrent waiters stay inside the window and all get through."""

from __future__ import annotations

import asyncio
import time

import pytest
from limits import parse
from redis.asyncio import Redis

from bot.ratelimit import RateLimitTimeout, SharedRateLimiter, Take


async def test_concurrent_waiters_keep_the_limit(redis: Redis) -> None:
    limiter = SharedRateLimiter(redis, prefix="test:limits")
    item = parse("10/second")
    granted: list[float] = []

    async def one() -> None:
        await limiter.acquire(item, "global", max_wait=10)
        granted.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(30)))
    granted.sort()
    assert len(granted) == 30
    for index in range(10, 30):  # any 11 grants span more than the one-second window
        assert granted[index] - granted[index - 10] >= 0.95
    assert granted[-1] - granted[0] < 4.0  # and nobody waited much longer than needed


async def test_waiting_longer_than_allowed_times_out(redis: Redis) -> None:
    limiter = SharedRateLimiter(redis, prefix="test:limits")
    item = parse("1/minute")
    await limiter.acquire(item, "chat", "1")
    started = time.monotonic()
    with pytest.raises(RateLimitTimeout):
        await limiter.acquire(item, "chat", "1", max_wait=0.3)
    assert time.monotonic() - started < 1.0
    assert await limiter.try_acquire(item, "chat", "2")


async def test_taking_every_limit_at_once_keeps_each(redis: Redis) -> None:
    """Many chats through one bot-wide limit: each chat and the bot keep their windows."""
    limiter = SharedRateLimiter(redis, prefix="test:limits")
    chat, bot = parse("3/second"), parse("10/second")
    granted: list[tuple[float, int]] = []

    async def one(chat_id: int) -> None:
        takes = [Take(chat, ("chat", str(chat_id))), Take(bot, ("bot",), shared=True)]
        await limiter.take_all(takes, unless="test:cooldown", max_wait=10)
        granted.append((time.monotonic(), chat_id))

    await asyncio.gather(*(one(index % 4) for index in range(24)))
    times = sorted(at for at, _ in granted)
    assert len(times) == 24
    for index in range(10, 24):  # any 11 grants span more than the bot's second
        assert times[index] - times[index - 10] >= 0.95
    for chat_id in range(4):  # any 4 of one chat span more than its second
        own = sorted(at for at, who in granted if who == chat_id)
        assert all(own[i] - own[i - 3] >= 0.95 for i in range(3, len(own)))
    assert times[-1] - times[0] < 4.0


async def test_a_cooldown_holds_everything_and_a_full_limit_takes_nothing(redis: Redis) -> None:
    limiter = SharedRateLimiter(redis, prefix="test:limits")
    chat, bot = parse("1/minute"), parse("10/second")
    takes = [Take(chat, ("chat", "1")), Take(bot, ("bot",))]
    await redis.set("test:cooldown", "1", px=400)
    started = time.monotonic()
    await limiter.take_all(takes, unless="test:cooldown", max_wait=5)
    assert 0.35 <= time.monotonic() - started < 1.5  # waited the cooldown out, then took
    with pytest.raises(RateLimitTimeout):  # the chat's minute is used up
        await limiter.take_all(takes, unless="test:cooldown", max_wait=0.3)
    # ... and the bot's window was left alone: one slot taken, nine free
    assert await redis.llen("test:limits:" + bot.key_for("bot")) == 1


async def _scripts_run(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    calls = (stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))
    return sum(int(n) for n in calls)


async def test_a_window_known_full_is_waited_out_before_asking(redis: Redis) -> None:
    limiter = SharedRateLimiter(redis, prefix="test:limits")
    takes = [Take(parse("1/second"), ("chat", "1")), Take(parse("30/second"), ("bot",))]
    await limiter.take_all(takes)
    asked = await _scripts_run(redis)
    started = time.monotonic()
    await limiter.take_all(takes, max_wait=5)
    assert time.monotonic() - started >= 0.95  # the chat's second was kept
    assert await _scripts_run(redis) - asked == 1  # one try, the one that took


async def test_waiters_for_a_full_shared_limit_ask_about_once_each(redis: Redis) -> None:
    limiter = SharedRateLimiter(redis, prefix="test:limits")
    bot = parse("5/second")
    asked = await _scripts_run(redis)

    async def one(chat_id: int) -> None:
        await asyncio.sleep(chat_id * 0.02)  # one after another, as messages come
        takes = [Take(parse("1/second"), ("chat", str(chat_id))), Take(bot, ("bot",), shared=True)]
        await limiter.take_all(takes, unless="test:cooldown", max_wait=10)

    await asyncio.gather(*(one(chat_id) for chat_id in range(15)))
    tries = await _scripts_run(redis) - asked
    assert tries <= 15 + 2, tries  # who comes while the bot's second is full asks no sooner


async def test_a_try_riding_on_a_lock_takes_only_once_the_lock_is_the_holders(
    redis: Redis,
) -> None:
    limiter = SharedRateLimiter(redis, prefix="test:limits")
    takes = [Take(parse("5/second"), ("chat", "1")), Take(parse("30/second"), ("bot",))]
    window = "test:limits:" + takes[0].key
    await redis.delete("test:lock", window)
    answers = []
    for holder in ("other", "mine"):
        async with redis.pipeline(transaction=False) as pipe:
            pipe.set("test:lock", holder, nx=True, px=2000)
            limiter.queue_take_all(pipe, takes, unless=None, holding=("test:lock", b"mine"))
            answers.append((await pipe.execute())[-1])
        if holder == "other":
            assert not limiter.took_all(takes, answers[-1])  # someone else holds it
            assert await redis.llen(window) == 0
            await redis.delete("test:lock")
    assert limiter.took_all(takes, answers[-1])
    assert await redis.llen(window) == 1
    assert limiter.known_full(takes) == 0  # nothing learnt from the try that took nothing
