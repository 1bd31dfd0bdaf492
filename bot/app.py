"""Composition root: Redis, providers, Bot, Dispatcher, web app, and the roles a process runs.

Use :func:`running` to start the roles of one process and stop them cleanly; the CLI and
the end-to-end tests both go through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import httpx
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from redis.asyncio import Redis

from bot.access import Access
from bot.config import Settings
from bot.errors import ConfigError
from bot.metrics import Metrics
from bot.pbx.registry import Providers
from bot.pipeline.ingest import add_ingest_routes
from bot.pipeline.stream import EventStream
from bot.ratelimit import SharedRateLimiter
from bot.storage import Keys, Repositories, open_redis
from bot.telegram.factory import create_bot, create_dispatcher
from bot.telegram.menu import register_commands
from bot.telegram.notices import Notices
from bot.texts import Texts
from bot.web import build_web_app
from bot.webhook_urls import TELEGRAM_WEBHOOK_PATH

log = logging.getLogger(__name__)

PBX_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


@dataclass
class App:
    """Everything one process has wired together."""

    settings: Settings
    redis: Redis
    repos: Repositories
    texts: Texts
    metrics: Metrics
    providers: Providers
    access: Access
    bot: Bot
    dispatcher: Dispatcher
    web_app: web.Application
    web_url: str | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def build_app(settings: Settings, redis: Redis, http: httpx.AsyncClient) -> App:
    """Wire the parts; nothing is started yet."""
    keys = Keys()
    repos = Repositories.over(redis, keys)
    texts = Texts()
    metrics = Metrics()
    providers = Providers.from_settings(settings, http, SharedRateLimiter(redis))
    access = Access(repos, settings, providers)
    bot = create_bot(settings)
    dispatcher = create_dispatcher(
        redis,
        keys,
        metrics,
        settings=settings,
        repos=repos,
        texts=texts,
        providers=providers,
        access=access,
        notices=Notices(bot, texts, repos),
    )
    web_app = build_web_app(settings, redis, metrics)
    add_ingest_routes(web_app, providers, EventStream(redis, keys), metrics)
    return App(settings, redis, repos, texts, metrics, providers, access, bot, dispatcher, web_app)


@asynccontextmanager
async def running(settings: Settings, *, web_role: bool, worker_role: bool) -> AsyncIterator[App]:
    """Start the requested roles; on exit stop them and release every connection."""
    async with AsyncExitStack() as stack:
        redis = await stack.enter_async_context(open_redis(settings))
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=PBX_TIMEOUT))
        app = build_app(settings, redis, http)
        stack.push_async_callback(app.bot.session.close)
        await _check_token(app.bot)
        await register_commands(app.bot, app.texts, sorted(settings.admin_ids))
        if web_role:
            if settings.webhook_mode:
                await _enable_telegram_webhook(app)
            runner = web.AppRunner(app.web_app, access_log=None)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            site = web.TCPSite(runner, settings.web_host, settings.web_port)
            await site.start()
            host, port = runner.addresses[0][:2]
            app.web_url = f"http://{host}:{port}"
            log.info("web listening on %s", app.web_url)
        if worker_role and not settings.webhook_mode:
            await app.bot.delete_webhook(drop_pending_updates=False)
            polling = asyncio.create_task(_poll(app), name="telegram-polling")
            app.tasks.append(polling)
            stack.push_async_callback(_stop_polling, app.dispatcher, polling)
        yield app


async def _check_token(bot: Bot) -> None:
    try:
        me = await bot.me()
    except TelegramUnauthorizedError:
        raise ConfigError("BOT_TOKEN: Telegram rejected this token") from None
    log.info("bot @%s is up", me.username)


async def _enable_telegram_webhook(app: App) -> None:
    secret = app.settings.webhook_secret()
    handler = SimpleRequestHandler(app.dispatcher, app.bot, secret_token=secret)
    handler.register(app.web_app, path=TELEGRAM_WEBHOOK_PATH)
    app.web_app.on_startup.append(lambda _: app.dispatcher.emit_startup(bot=app.bot))
    app.web_app.on_shutdown.append(lambda _: app.dispatcher.emit_shutdown(bot=app.bot))
    await app.bot.set_webhook(
        app.settings.public_base() + TELEGRAM_WEBHOOK_PATH,
        secret_token=secret,
        allowed_updates=app.dispatcher.resolve_used_update_types(),
    )


async def _poll(app: App) -> None:
    await app.dispatcher.start_polling(app.bot, handle_signals=False, close_bot_session=False)


async def _stop_polling(dispatcher: Dispatcher, task: asyncio.Task[None]) -> None:
    with contextlib.suppress(RuntimeError):
        await dispatcher.stop_polling()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
