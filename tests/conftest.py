"""Shared fixtures: a real Redis (REDIS_URL, or an embedded server), settings builders, and
``start_app``, which runs the real app against the ``emulator`` and ``mango`` fixtures each
test folder provides (the folder's ``app_defaults`` adds its Settings)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from limits import parse
from redis.asyncio import Redis

from bot.app import App, Tuning, running
from bot.config import Settings
from bot.pipeline.consumer import ConsumerOptions
from bot.pipeline.reconcile import ReconcileTiming
from bot.storage.embedded import EmbeddedRedis
from bot.telegram.sender import SendLimits
from sandbox.mango import MangoSimulator
from sandbox.telegram import TelegramEmulator
from tests.secret_keys import TEST_SECRET_KEY
from tests.turns import turn

StartApp = Callable[..., Awaitable[App]]

FAST = Tuning(
    consumer=ConsumerOptions(block_ms=100, claim_idle_ms=2000, claim_every_s=0.5),
    send_limits=SendLimits(
        global_limit=parse("1000/second"),
        private_chat=parse("100/second"),
        group_chat=parse("100/second"),
    ),
    recording_retry=0.2,
    delayed_poll=0.1,
    # Reading the PBX's call log asks the simulator for statistics: only the tests of it do.
    reconcile=ReconcileTiming(enabled=False),
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "exclusive: runs with no other test beside it (see tests/turns.py)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``-n`` (pytest-xdist, ``--dist loadgroup``): a test file runs on one worker,
    and the reliability scenarios, which measure rates and timings, one after another on
    one worker, each with no other test running beside it."""
    for item in items:
        path = item.path.as_posix()
        reliability = "/tests/reliability/" in path
        item.add_marker(pytest.mark.xdist_group("reliability" if reliability else path))
        if reliability:
            item.add_marker(pytest.mark.exclusive)


@pytest.fixture(autouse=True)
def _take_turn(request: pytest.FixtureRequest) -> Iterator[None]:
    """Share the machine with the other test process, or have it alone (``exclusive``)."""
    with turn(exclusive=request.node.get_closest_marker("exclusive") is not None):
        yield


def _worker_database(url: str) -> str:
    """``url`` with its database number moved on by the xdist worker's index, so that
    parallel workers never flush each other's data."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    base, _, db = url.rstrip("/").rpartition("/")
    if not base.startswith("redis") or "//" not in base or not db.isdigit():
        base, db = url.rstrip("/"), "0"
    return f"{base}/{int(db) + int(worker[2:])}"


@pytest_asyncio.fixture(scope="session")
async def redis_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """``TEST_REDIS_URL`` when set (a throwaway server: tests flush its databases), else an
    embedded server. ``REDIS_URL`` is never used: it may point at a real deployment."""
    external = os.environ.get("TEST_REDIS_URL")
    if external:
        yield _worker_database(external)
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client on an empty database."""
    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


MANGO_ACCOUNT: dict[str, Any] = {
    "id": "main",
    "provider": "mango",
    "api_key": "test-api-key",
    "api_salt": "test-api-salt",
}


@pytest.fixture
def make_settings(redis_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Build Settings for a test: Redis from the fixture, web on a free port, one MANGO account."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "redis_url": redis_url,
            "web_port": 0,
            "pbxgram_data_dir": tmp_path / "data",
            "accounts": [MANGO_ACCOUNT],
            "pbxgram_secret_key": TEST_SECRET_KEY,
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def app_defaults() -> dict[str, Any]:
    """Settings every app a test folder starts has (e.g. its admins)."""
    return {}


@pytest_asyncio.fixture
async def start_app(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    make_settings: Callable[..., Settings],
    redis: Redis,  # an empty database for every test
    app_defaults: dict[str, Any],
) -> AsyncIterator[StartApp]:
    """Start the real app (web + worker) against the emulator and the MANGO simulator;
    stopped after the test.

    Call with Settings overrides; ``account={...}`` adds fields to the MANGO account;
    ``tuning`` replaces FAST.
    """
    async with AsyncExitStack() as stack:

        async def start(
            tuning: Tuning = FAST, *, account: dict[str, Any] | None = None, **overrides: Any
        ) -> App:
            values: dict[str, Any] = {
                "bot_token": emulator.token,
                "telegram_api_url": emulator.base_url,
                **app_defaults,
                "accounts": [{**MANGO_ACCOUNT, "api_url": mango.base_url, **(account or {})}],
                **overrides,
            }
            app = await stack.enter_async_context(
                running(make_settings(**values), web_role=True, worker_role=True, tuning=tuning)
            )
            mango.webhook_url = f"{app.web_url}/pbx/main"
            return app

        yield start


pytest_plugins = ["tests.deadline"]
