"""No missed call goes unreported when the world outside fails: Telegram down or silent
through a day of calls, pbxgram started while Telegram is unreachable, pbxgram stopped
while calls are missed at the PBX, and Redis down under the web tier.

The tests run them with short settings; ``PBXGRAM_LONG_OUTAGES=1`` runs them at full
length (a 10-minute Telegram outage through 50 calls, Telegram unreachable for 2 minutes
at start-up, pbxgram stopped for 30 minutes, Redis down for 2 minutes) with production
timings, for the figures in RELIABILITY.md.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bot.app import App, Tuning, running
from bot.config import Settings
from bot.domain import Role
from bot.phones import display
from bot.pipeline.reconcile import ReconcileTiming
from bot.storage.embedded import EmbeddedRedis
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.conftest import MANGO_ACCOUNT
from tests.e2e.conftest import FAST, drained
from tests.reliability.conftest import FAULTS_GROUPS, FAULTS_LINE, StartApp, faults_extensions
from tests.reliability.figures import record
from tests.reliability.test_redis_restart import own_redis
from tests.reliability.test_telegram_faults import (
    GROUP_CHAT,
    client_of,
    company,
    deliveries,
    expected_messages,
    group_of,
    rep_of,
    seen,
)
from tests.reliability.test_telegram_outage import (
    ADMIN,
    calls_in_order_shown,
    kind_of,
    late,
    outbox_dead_letters,
)

__all__ = ["own_redis"]  # a fixture of this module too

LONG = os.environ.get("PBXGRAM_LONG_OUTAGES") == "1"
PATIENCE = 900.0 if LONG else 120.0  # drains wait this long at most

# Telegram down through a day of calls: 50 calls, 20 missed, over 10 minutes.
DAY_CALLS = 50 if LONG else 6
TELEGRAM_DOWN = 600.0 if LONG else 6.0
# At full length the sender runs as in production: Telegram's own limits, quick retries,
# at most a minute between tries, 20 s for a request Telegram never answers.
OUTAGE_TUNING = (
    replace(FAST, send_limits=None)
    if LONG
    else replace(
        FAST, send_limits=None, send_backoff=(0.05, 0.1), outage_retry_cap=0.5, telegram_timeout=1
    )
)
# Started while Telegram is unreachable.
UNREACHABLE_AT_START = 120.0 if LONG else 3.0
START_CALLS = 10 if LONG else 2
# pbxgram stopped while calls are missed at the PBX, and Redis down under it.
STOPPED = 1800.0 if LONG else 2.0
STOPPED_CALLS = 30 if LONG else 4
REDIS_DOWN = 120.0 if LONG else 2.0
REDIS_DOWN_CALLS = 12 if LONG else 4
RECONCILE = ReconcileTiming() if LONG else ReconcileTiming(period=2.0, settle=0.0)
RECONCILING = replace(FAST, send_limits=None, reconcile=RECONCILE)
RECOVERED = "Восстановлен по журналу звонков АТС"


def day_missed(index: int) -> bool:
    """Two calls in five are missed: 20 of 50."""
    return index % 5 in (1, 3)


def rss_mib() -> float:
    """This process's resident memory (the app, the emulator and the simulator)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def redis_mib(app: App) -> float:
    info = await app.redis.info("memory")
    return int(info["used_memory"]) / 2**20


def chats() -> list[int]:
    reps = [rep_of(e) for g in range(1, FAULTS_GROUPS + 1) for e in faults_extensions(g)]
    return [GROUP_CHAT, *reps]


async def play(mango: MangoSimulator, index: int, *, missed: bool) -> None:
    """Call ``index`` to its ring group, answered by the group's second employee or nobody."""
    ring = faults_extensions(group_of(index))
    await mango.play_inbound(
        FAULTS_LINE,
        client_of(index),
        group_id=group_of(index),
        ring=ring,
        answered_by=None if missed else ring[1],
        record=False,
    )


async def play_over(
    mango: MangoSimulator, indexes: range, seconds: float, missed: Callable[[int], bool]
) -> None:
    """The calls one after another, spread evenly over ``seconds``."""
    began = time.monotonic()
    for number, index in enumerate(indexes):
        await asyncio.sleep(max(0.0, began + number * seconds / len(indexes) - time.monotonic()))
        await play(mango, index, missed=missed(index))
    await mango.wait_idle()
    await asyncio.sleep(max(0.0, began + seconds - time.monotonic()))


async def arrival_times(
    emulator: TelegramEmulator, chat: int, since: int, times: list[float]
) -> None:
    """Note when each new bot message of ``chat`` arrives (sampled every 50 ms), until
    cancelled."""
    count = since
    while True:
        now = len(emulator.bot_messages(chat))
        times.extend([time.monotonic()] * (now - count))
        count = now
        await asyncio.sleep(0.05)


def fastest_span(count: int) -> float:
    """The shortest time Telegram's limits allow from the first to the last of ``count``
    messages to one group: a burst of 3, then one a second; and 20 a minute."""
    sent: list[float] = []
    now, tokens, counted = 0.0, 3.0, 0.0
    for _ in range(count):
        while True:
            wait = max(0.0, 1.0 - min(3.0, tokens + now - counted))
            if len(sent) >= 20:
                wait = max(wait, sent[-20] + 60.0 - now)
            if wait <= 1e-9:
                break
            now += wait
        tokens, counted = min(3.0, tokens + now - counted) - 1.0, now
        sent.append(now)
    return sent[-1] - sent[0] if sent else 0.0


def shown_since(emulator: TelegramEmulator, before: dict[int, int]) -> list[ChatMessage]:
    return [m for chat in chats() for m in emulator.bot_messages(chat)[before.get(chat, 0) :]]


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    """Telegram with its documented flood limits: a drain must keep to them."""
    async with TelegramEmulator() as emulator:
        yield emulator


@pytest.mark.parametrize("silent", [False, True], ids=["refusing", "never-answering"])
async def test_telegram_down_through_a_day_of_calls(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp, silent: bool
) -> None:
    emulator.add_user(ADMIN, "Olga", language_code="ru")
    app = await company(
        emulator, start_app, OUTAGE_TUNING, admin_ids=[ADMIN], telegram_outage_notice_minutes=0
    )
    before = {chat: len(emulator.bot_messages(chat)) for chat in chats()}
    memory_before, redis_before = rss_mib(), await redis_mib(app)
    if silent:
        emulator.go_silent()
    else:
        await emulator.stop()
    requests_before = len(emulator.requests)

    indexes = range(DAY_CALLS)
    await play_over(mango, indexes, TELEGRAM_DOWN, day_missed)
    assert {status for _, _, status in mango.posted} == {200}  # every event taken
    assert await app.outbox.stalled() > 0  # …and waiting in Redis for Telegram
    assert deliveries(app, "outage") > 0  # the sender met the outage, and waited
    assert app.telegram.describe() == "down"  # it told /readyz and the gauge
    waits = deliveries(app, "outage")
    memory_down, redis_down = rss_mib(), await redis_mib(app)
    stalled = await app.outbox.stalled()

    if silent:
        emulator.answer_again()
    else:
        await emulator.start()
    back = time.monotonic()
    group_times: list[float] = []
    clock = asyncio.create_task(
        arrival_times(emulator, GROUP_CHAT, before[GROUP_CHAT], group_times)
    )
    await drained(app, patience=PATIENCE)
    drain = time.monotonic() - back
    clock.cancel()

    shown = shown_since(emulator, before)
    expected = Counter(
        late(line)
        for index in indexes
        for line in expected_messages(index, missed=day_missed(index))
    )
    actual = Counter(seen(m) for m in shown)
    assert actual == expected, {"missing": expected - actual, "extra": actual - expected}
    after = [name for name, _ in emulator.requests[requests_before:]]
    assert "editMessageText" not in after  # no stale ringing card, then its edits
    for chat in chats():
        messages = emulator.bot_messages(chat)[before[chat] :]
        for kind, calls in calls_in_order_shown(messages, indexes).items():
            assert calls == sorted(calls), (chat, kind, calls)
    group = emulator.bot_messages(GROUP_CHAT)[before[GROUP_CHAT] :]
    missed_count = sum(day_missed(index) for index in indexes)
    assert [kind_of(m) for m in group] == ["alert"] * missed_count + ["summary"] * DAY_CALLS
    assert deliveries(app, "429") == 0
    assert app.telegram.describe() == "up"
    assert await outbox_dead_letters(app) == 0
    [notice] = [m.text for m in emulator.bot_messages(ADMIN)]  # once, however many replicas
    assert notice.startswith("⚠️ Telegram был недоступен около ")
    assert notice.endswith(
        "мин. Сообщения за это время, сначала о пропущенных звонках, отправлены с "
        "опозданием; ничего не потеряно."
    )
    group_span = max(group_times[-1] - group_times[0], 0.001)
    record(
        "Telegram never answering through a day of calls"
        if silent
        else "Telegram refusing connections through a day of calls",
        f"{DAY_CALLS} calls ({missed_count} missed) to four ring groups, one every "
        f"{TELEGRAM_DOWN / DAY_CALLS:.0f} s, while the Telegram emulator "
        + ("took every connection and never answered" if silent else "refused every connection")
        + f" for {TELEGRAM_DOWN / 60:.0f} min; Telegram's own limits (emulator and sender)",
        "every event taken at once; 0 lost, 0 doubled, none dead-lettered, no stale ringing "
        "card (no edit after the outage); missed alerts first, each chat in order, at "
        "Telegram's rate with 0 × 429; late alerts say why; the admins told once; memory "
        "flat (the line lives in Redis)",
        {
            "messages after the outage": len(shown),
            "waiting in Redis at its end": stalled,
            "tries while Telegram was down": waits,
            "lost": 0,
            "doubled": 0,
            "edits after the outage": 0,
            "429 answers": 0,
            "dead letters": 0,
            "drain": f"{drain:.1f} s ({len(shown) / drain:.1f} messages/s)",
            "group chat (the slowest to drain)": f"{len(group)} messages in "
            f"{group_span:.0f} s from the first to the last; Telegram's limits allow "
            f"{fastest_span(len(group)):.0f} s at best: "
            f"{fastest_span(len(group)) / group_span:.0%} of the allowed rate",
            "process memory": f"{memory_before:.0f} → {memory_down:.0f} → "
            f"{rss_mib():.0f} MiB (before, end of outage, drained)",
            "Redis memory": f"{redis_before:.1f} → {redis_down:.1f} → "
            f"{await redis_mib(app):.1f} MiB",
        },
    )


async def test_started_while_telegram_is_unreachable(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp
) -> None:
    await emulator.stop()
    quick = (
        OUTAGE_TUNING
        if LONG
        else replace(
            OUTAGE_TUNING,
            telegram_retry_first=0.05,
            telegram_retry_max=0.5,
            telegram_first_try=1.0,
        )
    )
    began = time.monotonic()
    app = await start_app(quick)
    started = time.monotonic() - began
    for group in range(1, FAULTS_GROUPS + 1):
        for extension in faults_extensions(group):
            emulator.add_user(rep_of(extension), f"Rep {extension}", language_code="ru")
            await app.access.link("main", extension, rep_of(extension), Role.REP)

    indexes = range(1, 2 * START_CALLS, 2)  # every one missed
    await play(mango, indexes[0], missed=True)
    first_call = time.monotonic()  # all its webhooks answered, one after another
    rest = UNREACHABLE_AT_START - (first_call - began)
    await play_over(mango, indexes[1:], rest, lambda _: True)
    statuses = Counter(status for _, _, status in mango.posted)
    assert set(statuses) == {200}, statuses
    assert not any(emulator.bot_messages(chat) for chat in chats())

    await emulator.start()
    back = time.monotonic()
    reps = [chat for chat in chats() if chat != GROUP_CHAT]
    await drained(app, patience=PATIENCE)
    drain = time.monotonic() - back
    expected = Counter(
        late(line)
        for index in indexes
        for line in expected_messages(index)
        if line[0] != GROUP_CHAT  # no group chat: it could not be set up without Telegram
    )
    actual = Counter(seen(m) for chat in reps for m in emulator.bot_messages(chat))
    assert actual == expected, {"missing": expected - actual, "extra": actual - expected}
    assert app.telegram.describe() == "up"
    record(
        "pbxgram started while Telegram is unreachable",
        f"the Telegram emulator refused every connection from before start-up until "
        f"{UNREACHABLE_AT_START:.0f} s after it; {START_CALLS} calls were missed meanwhile",
        "start-up does not wait for Telegram; PBX events are acknowledged from the first "
        "second; every card and alert arrives once Telegram answers",
        {
            "start-up": f"{started:.2f} s",
            "first call's webhooks all acknowledged": f"{first_call - began:.2f} s after "
            "start-up began",
            "webhooks": f"{sum(statuses.values())}, all 200",
            "messages once Telegram answered": sum(expected.values()),
            "delivered": f"{drain:.1f} s after Telegram came back",
            "lost": 0,
            "doubled": 0,
        },
    )


@dataclass
class Pbxgram:
    """pbxgram as a process one can stop and start again, on the same Redis."""

    make_settings: Callable[..., Settings]
    emulator: TelegramEmulator
    mango: MangoSimulator
    overrides: dict[str, Any] = field(default_factory=dict)
    stack: AsyncExitStack | None = None

    async def start(self, tuning: Tuning = FAST, **overrides: Any) -> App:
        self.stack = AsyncExitStack()
        values: dict[str, Any] = {
            "bot_token": self.emulator.token,
            "telegram_api_url": self.emulator.base_url,
            "accounts": [{**MANGO_ACCOUNT, "api_url": self.mango.base_url}],
            **self.overrides,
            **overrides,
        }
        settings = self.make_settings(**values)
        app = await self.stack.enter_async_context(
            running(settings, web_role=True, worker_role=True, tuning=tuning)
        )
        self.mango.webhook_url = f"{app.web_url}/pbx/main"
        return app

    async def stop(self) -> None:
        if self.stack is not None:
            await self.stack.aclose()
            self.stack = None


@pytest_asyncio.fixture
async def pbxgram(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    make_settings: Callable[..., Settings],
    redis: Redis,  # an empty database
) -> AsyncIterator[Pbxgram]:
    process = Pbxgram(make_settings, emulator, mango)
    try:
        yield process
    finally:
        await process.stop()


def group_alerts(emulator: TelegramEmulator, since: int) -> Counter[str]:
    """Clients whose missed calls were alerted in the group chat, counted."""
    found: Counter[str] = Counter()
    for message in emulator.bot_messages(GROUP_CHAT)[since:]:
        if kind_of(message) == "alert":
            for index in range(1000, 1100):
                if display(client_of(index)) in message.text:
                    found[display(client_of(index))] += 1
    return found


async def until_alerted(
    emulator: TelegramEmulator, since: int, wanted: Counter[str], patience: float
) -> float:
    """Seconds until the group chat shows ``wanted``'s alerts (fails after ``patience``)."""
    began = time.monotonic()
    while group_alerts(emulator, since) != wanted:
        assert time.monotonic() - began < patience, group_alerts(emulator, since)
        await asyncio.sleep(0.2)
    return time.monotonic() - began


async def test_pbxgram_stopped_while_calls_are_missed(
    emulator: TelegramEmulator, mango: MangoSimulator, pbxgram: Pbxgram
) -> None:
    mango.stats_ready_after = 1  # the first stats/result of each request answers 204
    await company(emulator, pbxgram.start, RECONCILING)
    await play(mango, 0, missed=False)  # the last event pbxgram sees before it stops
    await mango.wait_idle()
    since = len(emulator.bot_messages(GROUP_CHAT))
    await pbxgram.stop()

    indexes = range(1000, 1000 + STOPPED_CALLS)
    await play_over(mango, indexes, STOPPED, day_missed)
    lost = [status for path, _, status in mango.posted if path.startswith("events/")]
    assert 0 in lost  # nobody took them

    began = time.monotonic()
    app = await pbxgram.start(RECONCILING)
    missed = Counter({display(client_of(i)): 1 for i in indexes if day_missed(i)})
    took = await until_alerted(emulator, since, missed, RECONCILE.period + 60)
    await drained(app, patience=PATIENCE)
    await asyncio.sleep(RECONCILE.period)  # a later run adds nothing
    assert group_alerts(emulator, since) == missed  # each once, and no answered call
    alerts = [m for m in emulator.bot_messages(GROUP_CHAT)[since:] if kind_of(m) == "alert"]
    assert all(RECOVERED in m.text for m in alerts)
    answered = [i for i in indexes if not day_missed(i)]
    logged = await app.call_log.recent("main", limit=3 * len(indexes))
    clients = {entry.client_number for entry in logged}
    assert {f"+{client_of(i)}" for i in answered} <= clients
    record(
        "pbxgram stopped while calls are missed",
        f"pbxgram fully stopped for {STOPPED / 60:.0f} min while {len(indexes)} calls "
        f"({sum(missed.values())} missed) came to the MANGO simulator, whose webhooks "
        f"failed (it does not retry); then started again. Reconciliation every "
        f"{RECONCILE.period:.0f} s, a call left {RECONCILE.settle:.0f} s to its webhooks",
        "every missed call alerted exactly once within one reconciliation period, marked "
        "as recovered from the call log; no answered call alerted; answered calls in the "
        "call log",
        {
            "webhooks lost": lost.count(0),
            "missed calls alerted": f"{sum(missed.values())}, each once",
            "answered calls alerted": 0,
            "answered calls in the call log": len(answered),
            "every missed call alerted": f"{took:.1f} s after start "
            f"({time.monotonic() - began:.0f} s with the check for doubles)",
        },
    )


async def test_redis_down_under_the_web_tier(
    own_redis: EmbeddedRedis, emulator: TelegramEmulator, mango: MangoSimulator, pbxgram: Pbxgram
) -> None:
    mango.stats_ready_after = 1
    pbxgram.overrides["redis_url"] = own_redis.url
    app = await company(emulator, pbxgram.start, RECONCILING)
    since = len(emulator.bot_messages(GROUP_CHAT))
    posted = len(mango.posted)
    await own_redis.stop()
    indexes = range(1000, 1000 + REDIS_DOWN_CALLS)
    await play_over(mango, indexes, REDIS_DOWN, day_missed)
    statuses = Counter(status for _, _, status in mango.posted[posted:])
    assert 503 in statuses and 200 not in statuses, statuses  # the PBX is told, gives up
    await own_redis.start()

    missed = Counter({display(client_of(i)): 1 for i in indexes if day_missed(i)})
    took = await until_alerted(emulator, since, missed, RECONCILE.period + 60)
    await drained(app, patience=PATIENCE)
    await asyncio.sleep(RECONCILE.period)
    assert group_alerts(emulator, since) == missed
    record(
        "Redis down under the web tier",
        f"the embedded Redis stopped for {REDIS_DOWN / 60:.0f} min while {len(indexes)} "
        f"calls ({sum(missed.values())} missed) came to the MANGO simulator; it gives up on "
        "webhooks that fail",
        "the web tier answers 503 while Redis is down, never 2xx; once Redis is back every "
        "missed call is alerted exactly once within one reconciliation period; no answered "
        "call alerted",
        {
            "webhooks while Redis was down": f"{sum(statuses.values())}: {statuses[503]} × 503, "
            f"{statuses[0]} unanswered, 0 × 2xx",
            "missed calls alerted": f"{sum(missed.values())}, each once",
            "answered calls alerted": 0,
            "every missed call alerted": f"{took:.1f} s after Redis came back",
            "reconciliation period": f"{RECONCILE.period:.0f} s",
        },
    )
