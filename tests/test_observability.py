"""The worker role's health, readiness and metrics, and the backlog gauges read from Redis
at scrape time, over real HTTP against the real app."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from bot.app import running
from bot.config import Settings
from bot.metrics import Metrics
from bot.observability import Backlog
from bot.storage.keys import Keys
from bot.telegram.outbox import OutMessage, Priority
from sandbox.mango import MangoSimulator
from sandbox.telegram import Limits, TelegramEmulator
from tests.conftest import FAST, MANGO_ACCOUNT

LINE = "74950000000"
CLIENT = "79001234567"
QUICK = replace(FAST, send_backoff=(0.05,), telegram_first_try=2.0)


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(limits=Limits.disabled()) as emu:
        yield emu


@pytest_asyncio.fixture
async def mango() -> AsyncIterator[MangoSimulator]:
    async with MangoSimulator(MANGO_ACCOUNT["api_key"], MANGO_ACCOUNT["api_salt"]) as sim:
        yield sim


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_the_worker_role_serves_health_readiness_and_metrics(
    emulator: TelegramEmulator, mango: MangoSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        accounts=[{**MANGO_ACCOUNT, "api_url": mango.base_url}],
        worker_port=0,
    )
    async with running(settings, web_role=False, worker_role=True, tuning=QUICK) as app:
        assert app.web_url is not None
        async with httpx.AsyncClient(base_url=app.web_url) as client:
            health = await client.get("/healthz")
            ready = await client.get("/readyz")
            metrics = await client.get("/metrics")
            webhook = await client.post("/pbx/main/events/call")

    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["telegram"] in ("up", "connecting")
    text = metrics.text
    for name in ("process_resident_memory_bytes", "python_info", "python_gc_objects_collected"):
        assert f"# TYPE {name}" in text, name
    assert value(text, "pbxgram_redis_up") == 1.0
    assert value(text, "pbxgram_ready") == 1.0
    assert value(text, "pbxgram_events_backlog") == 0.0
    assert value(text, "pbxgram_outbox_backlog", priority="0") == 0.0
    assert value(text, "pbxgram_job_runs_total", job="delayed") is not None
    assert webhook.status_code == 404  # PBX webhooks are the web role's


async def test_run_serves_everything_on_the_web_port_only(
    emulator: TelegramEmulator, mango: MangoSimulator, make_settings: Callable[..., Settings]
) -> None:
    worker_port = free_port()
    settings = make_settings(
        bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        accounts=[{**MANGO_ACCOUNT, "api_url": mango.base_url}],
        worker_port=worker_port,
    )
    async with (
        running(settings, web_role=True, worker_role=True, tuning=QUICK) as app,
        httpx.AsyncClient() as client,
    ):
        metrics = await client.get(f"{app.web_url}/metrics")
        try:
            await client.get(f"http://127.0.0.1:{worker_port}/healthz")
            worker_answered = True
        except httpx.ConnectError:
            worker_answered = False

    assert metrics.status_code == 200
    assert "pbxgram_outbox_backlog" in metrics.text
    assert not worker_answered


async def test_events_wait_in_the_backlog_while_no_worker_runs(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    make_settings: Callable[..., Settings],
    redis: Redis,
) -> None:
    settings = make_settings(
        bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        accounts=[{**MANGO_ACCOUNT, "api_url": mango.base_url}],
    )
    async with running(settings, web_role=True, worker_role=False, tuning=QUICK) as app:
        mango.webhook_url = f"{app.web_url}/pbx/main"
        await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by=None)
        await mango.wait_idle()
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"{app.web_url}/metrics")).text

    length = value(text, "pbxgram_events_stream_length")
    assert length is not None and length >= 2  # appeared, ended
    assert value(text, "pbxgram_events_backlog") == length
    assert value(text, "pbxgram_seconds_since_last_event", account="main") is None
    accepted = {"provider": "mango", "route": "events/call", "outcome": "accepted"}
    assert (value(text, "pbxgram_webhooks_total", **accepted) or 0) >= 2


async def test_outbox_messages_wait_while_telegram_is_down(
    emulator: TelegramEmulator, mango: MangoSimulator, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        bot_token=emulator.token,
        telegram_api_url=f"http://127.0.0.1:{free_port()}",  # nobody listens: unreachable
        accounts=[{**MANGO_ACCOUNT, "api_url": mango.base_url}],
        worker_port=0,
    )
    async with (
        running(settings, web_role=False, worker_role=True, tuning=QUICK) as app,
        httpx.AsyncClient(base_url=str(app.web_url)) as client,
    ):
        for chat in range(1, 6):
            message = OutMessage(chat_id=chat, text=f"missed call {chat}")
            await app.outbox.put(f"alert:{chat}", message, Priority.MISSED)
        deadline = time.monotonic() + 15
        text = (await client.get("/metrics")).text
        while (value(text, "pbxgram_outbox_stalled") or 0) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            text = (await client.get("/metrics")).text

    assert (value(text, "pbxgram_outbox_stalled") or 0) >= 4, text
    assert value(text, "pbxgram_telegram_up") == 0.0
    assert value(text, "pbxgram_telegram_deliveries_total", outcome="outage")


async def test_backlog_figures_come_from_redis(redis: Redis) -> None:
    keys, metrics = Keys(), Metrics()
    events = keys.events_stream()
    await redis.xgroup_create(events, "workers", id="0", mkstream=True)
    for n in range(3):
        await redis.xadd(events, {"n": n})
    await redis.xreadgroup("workers", "w1", {events: ">"}, count=1)  # one in work, two unread
    outbox = keys.outbox(Priority.SUMMARY)
    await redis.xgroup_create(outbox, "senders", id="0", mkstream=True)
    await redis.xadd(outbox, {"slot": "s"})
    await redis.xadd(keys.outbox(Priority.DIGEST), {"slot": "d"})  # no group yet: all of it
    await redis.xadd(keys.dead_letters(events), {"n": 9})
    for n in range(2):
        await redis.xadd(keys.dead_letters(keys.outbox(0)), {"slot": str(n)})
    await redis.zadd(keys.outbox_delayed(), {"a": 1, "b": 2})
    await redis.zadd(keys.outbox_stalled(), {"c": 1})
    await redis.set(keys.last_event("main"), "1000.5")

    await Backlog(redis, keys, ["main", "quiet"], metrics, clock=lambda: 1100.0).refresh()

    def get(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert get("pbxgram_redis_up") == 1
    assert get("pbxgram_events_stream_length") == 3
    assert get("pbxgram_events_backlog") == 3
    assert get("pbxgram_stream_lag", stream="events", group="workers") == 2
    assert get("pbxgram_stream_pending", stream="events", group="workers") == 1
    assert get("pbxgram_outbox_backlog", priority="2") == 1
    assert get("pbxgram_outbox_backlog", priority="4") == 1
    assert get("pbxgram_outbox_backlog", priority="0") == 0
    assert get("pbxgram_dead_letters", stream="events") == 1
    assert get("pbxgram_dead_letters", stream="outbox") == 2
    assert get("pbxgram_outbox_delayed") == 2
    assert get("pbxgram_outbox_stalled") == 1
    assert get("pbxgram_seconds_since_last_event", account="main") == 99.5
    assert get("pbxgram_seconds_since_last_event", account="quiet") is None


async def test_an_unreachable_redis_shows_in_the_metrics() -> None:
    dead: Redis = Redis.from_url("redis://127.0.0.1:1/0")
    metrics = Metrics()
    try:
        await Backlog(dead, Keys(), ["main"], metrics).refresh()
    finally:
        await dead.aclose()
    assert metrics.registry.get_sample_value("pbxgram_redis_up") == 0
    assert metrics.registry.get_sample_value("pbxgram_ready") == 0


async def test_a_worker_whose_port_is_taken_goes_on_without_it(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = make_settings(
            bot_token=emulator.token,
            telegram_api_url=emulator.base_url,
            accounts=[{**MANGO_ACCOUNT, "api_url": mango.base_url}],
            worker_port=taken.getsockname()[1],
        )
        async with running(settings, web_role=False, worker_role=True, tuning=QUICK) as app:
            assert app.web_url is None
            assert app.tasks and not any(task.done() for task in app.tasks)
    assert "is taken: this worker serves no /healthz" in caplog.text
