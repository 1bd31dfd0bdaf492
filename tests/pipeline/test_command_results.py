"""A command's asynchronous result is matched to the request that sent it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from redis.asyncio import Redis

from bot.config import Settings
from bot.events import CommandResultEvent
from bot.metrics import Metrics
from bot.pbx.providers import Providers
from bot.pipeline.ingest import add_ingest_routes
from bot.pipeline.stream import EventStream, decode_event
from bot.storage import Keys, Repositories
from bot.web import build_web_app
from sandbox.mango import MangoLimits, MangoSimulator
from tests.conftest import MANGO_ACCOUNT
from tests.helpers import serving


async def test_callback_result_finds_its_request(
    make_settings: Callable[..., Settings], redis: Redis
) -> None:
    async with (
        MangoSimulator(
            MANGO_ACCOUNT["api_key"], MANGO_ACCOUNT["api_salt"], limits=MangoLimits.disabled()
        ) as sim,
        httpx.AsyncClient() as http,
    ):
        sim.auto_play = False
        settings = make_settings(accounts=[{**MANGO_ACCOUNT, "api_url": sim.base_url}])
        providers = Providers.from_settings(settings, http)
        app = build_web_app(settings, redis, Metrics())
        add_ingest_routes(app, providers, EventStream(redis, Keys()), Metrics())
        repos = Repositories.over(redis)
        async with serving(app) as url:
            sim.webhook_url = f"{url}/pbx/main"
            provider = providers.get("main")
            assert provider is not None
            ticket = await provider.callback("101", "74955404444")
            await repos.commands.remember(ticket, telegram_id=42, message_id=7)
            await sim.post("result/callback", {"command_id": ticket.command_id, "result": 1000})
            await asyncio.sleep(0)

    entries = await redis.xrange(Keys().events_stream()) or []
    results = [decode_event(str(f["event"])) for _, f in entries if f]
    [result] = [e for e in results if isinstance(e, CommandResultEvent)]
    assert result.success
    pending = await repos.commands.get(result.command_id)
    assert pending is not None
    assert pending.ticket == ticket
    assert pending.context == {"telegram_id": 42, "message_id": 7}
