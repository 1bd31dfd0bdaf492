"""The worker role's background work is one list of jobs; kinds of work with nothing to do
in this configuration are left out of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from redis.asyncio import Redis

from bot.app import build_app
from bot.config import Settings
from tests.conftest import MANGO_ACCOUNT

MTS = {"id": "mts", "provider": "mts", "api_token": "mts-token", "callback_key": "mts-key"}
MOBILON = {"id": "mob", "provider": "mobilon", "api_token": "mobilon-token"}


async def _jobs(settings: Settings, redis: Redis) -> dict[str, bool]:
    """Job name -> whether it runs in one worker process at a time."""
    async with httpx.AsyncClient() as http:
        app = build_app(settings, redis, http)
        try:
            return {job.name: job.once_across_replicas for job in app.jobs}
        finally:
            await app.bot.session.close()


async def test_a_mango_account_alone_needs_its_call_log_and_transcripts(
    make_settings: Callable[..., Settings], redis: Redis
) -> None:
    settings = make_settings(bot_token="42:TEST")
    assert await _jobs(settings, redis) == {
        "delayed": False,
        "webhook-watch": True,
        "daily-digest": False,
        "reconcile": True,  # its call log (stats), read once across replicas
        "transcripts": True,  # what was said on its recordings, asked once across replicas
    }


async def test_every_kind_of_work_with_something_to_do_is_a_job(
    make_settings: Callable[..., Settings], redis: Redis
) -> None:
    accounts: list[dict[str, Any]] = [
        {**MANGO_ACCOUNT, "balance_alert_below": 1000},
        MTS,
        MOBILON,
        {**MOBILON, "id": "mob2"},
    ]
    settings = make_settings(bot_token="42:TEST", accounts=accounts)
    assert await _jobs(settings, redis) == {
        "delayed": False,
        "webhook-watch": True,
        "daily-digest": False,
        "close-calls": False,  # MTS sends no summaries
        "reconcile": True,  # one job reads every account's call log
        "transcripts": True,  # MANGO's speech analytics
        "balance-watch": True,
        "mts-subscriptions": True,
        "mobilon-calls:mob": True,
        "mobilon-calls:mob2": True,
    }
