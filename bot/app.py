"""Composition root: Redis, providers, Bot, Dispatcher, web app, workers, sender and jobs.

Use :func:`running` to start the roles of one process and stop them cleanly; the CLI and
the end-to-end tests both go through it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace

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
from bot.pbx.base import JobDeps
from bot.pbx.registry import Providers
from bot.pipeline.balance import BalanceWatch, balance_jobs
from bot.pipeline.calllog import CallLog
from bot.pipeline.closing import CallCloser, closing_jobs
from bot.pipeline.commands import CommandResults
from bot.pipeline.consumer import ConsumerOptions, StreamConsumer
from bot.pipeline.dialer import Dialer
from bot.pipeline.directory import DirectoryCache
from bot.pipeline.ingest import add_ingest_routes
from bot.pipeline.missed import MissedCalls
from bot.pipeline.notify import Notifier
from bot.pipeline.sessions import SessionStore
from bot.pipeline.stream import EventStream
from bot.pipeline.worker import EventWorker
from bot.ratelimit import SharedRateLimiter
from bot.reports.digest import DailyDigest, DigestTiming, digest_jobs
from bot.runtime import Job, JobRunner, Polling, stop_tasks
from bot.storage import Keys, Repositories, open_redis
from bot.telegram.dead_letters import DeadLetterNotice
from bot.telegram.factory import create_bot, create_dispatcher
from bot.telegram.handler_data import HandlerDeps
from bot.telegram.links import RecordingLinks
from bot.telegram.menu import register_commands
from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox
from bot.telegram.sender import Sender, SendLimits
from bot.texts import Texts
from bot.web import add_recording_route, build_web_app
from bot.webhook_urls import TELEGRAM_WEBHOOK_PATH
from handlers import build_router

log = logging.getLogger(__name__)

PBX_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
SENDER_CONCURRENCY = 256  # deliveries in flight per process


@dataclass(frozen=True)
class Tuning:
    """Timings the tests and benchmarks tighten; production uses the defaults."""

    consumer: ConsumerOptions = field(default_factory=ConsumerOptions)
    send_limits: SendLimits | None = None  # None: Telegram's limits with TELEGRAM_GLOBAL_RATE
    recording_retry: float = 5.0
    delayed_poll: float = 1.0
    digest: DigestTiming = field(default_factory=DigestTiming)
    pbx_timeout: httpx.Timeout = field(default_factory=lambda: PBX_TIMEOUT)  # then it fails
    summary_grace: float | None = None  # None: each provider's own (bot.pipeline.closing)
    # Providers' background jobs by name: seconds between runs.
    job_periods: Mapping[str, float] = field(default_factory=dict)


@dataclass
class App:
    """Everything one process has wired together."""

    settings: Settings
    redis: Redis
    keys: Keys
    repos: Repositories
    texts: Texts
    metrics: Metrics
    providers: Providers
    access: Access
    bot: Bot
    dispatcher: Dispatcher
    web_app: web.Application
    outbox: Outbox
    notifier: Notifier
    worker: EventWorker
    sender: Sender
    call_log: CallLog
    tuning: Tuning = field(default_factory=Tuning)
    jobs: list[Job] = field(default_factory=list)  # what the worker role runs in the background
    web_url: str | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def build_app(
    settings: Settings, redis: Redis, http: httpx.AsyncClient, tuning: Tuning | None = None
) -> App:
    """Wire the parts; nothing is started yet."""
    tuning = tuning or Tuning()
    keys = Keys()
    repos = Repositories.over(redis, keys)
    texts = Texts()
    metrics = Metrics()
    limiter = SharedRateLimiter(redis)
    providers = Providers.from_settings(settings, http, limiter, redis=redis)
    access = Access(repos, settings, providers)
    bot = create_bot(settings)
    outbox = Outbox(redis, keys)
    missed = MissedCalls(redis, keys)
    call_log = CallLog(redis, keys)
    notices = Notices(bot, texts, repos)
    notifier = Notifier(
        settings, repos, outbox, texts, DirectoryCache(redis, keys, providers), missed, notices
    )
    links = RecordingLinks(
        settings.public_base() if settings.public_url else None,
        settings.webhook_secret().encode(),
    )
    sender = Sender(
        bot,
        redis,
        keys,
        outbox,
        limiter,
        tuning.send_limits or SendLimits.per_second(settings.telegram_global_rate),
        providers,
        repos,
        texts,
        metrics,
        links,
        notices,
        recording_retry=tuning.recording_retry,
    )
    command_results = CommandResults(redis, keys, repos.commands, outbox, texts)
    dispatcher = create_dispatcher(
        build_router(),
        HandlerDeps(
            redis=redis,
            keys=keys,
            settings=settings,
            repos=repos,
            texts=texts,
            providers=providers,
            access=access,
            notices=notices,
            notifier=notifier,
            missed_calls=missed,
            call_log=call_log,
            outbox=outbox,
            limiter=limiter,
            dialer=Dialer(bot, settings, providers, limiter, command_results),
        ),
        metrics,
    )
    web_app = build_web_app(settings, redis, metrics)
    stream = EventStream(redis, keys)
    add_ingest_routes(web_app, providers, stream, metrics)
    sessions = SessionStore(redis, keys)
    closer = CallCloser(
        redis,
        keys,
        sessions,
        stream,
        {
            p.account.id: tuning.summary_grace or p.summary_grace
            for p in providers
            if p.summary_grace is not None
        },
        {p.account.id: p.account.provider_id for p in providers},
    )
    add_recording_route(web_app, links, providers)
    worker = EventWorker(settings, sessions, notifier, metrics, call_log, command_results, closer)
    balances = BalanceWatch(redis, keys, settings, providers, repos, outbox, notices)
    digest = DailyDigest(
        settings=settings,
        redis=redis,
        keys=keys,
        subscriptions=repos.subscriptions,
        outbox=outbox,
        notifier=notifier,
        call_log=call_log,
    )
    public_base = settings.public_base() if settings.public_url is not None else None
    # Every background job of the worker role; a job with nothing to do is left out.
    jobs = [
        Job("delayed", outbox.release_due, period=tuning.delayed_poll),
        *closing_jobs(closer),
        *balance_jobs(balances, settings.balance_check_seconds),
        *digest_jobs(digest, tuning.digest),
        *providers.jobs(
            JobDeps(
                redis=redis,
                keys=keys,
                stream=stream,
                links=repos.links,
                public_base=public_base,
                periods=tuning.job_periods,
            )
        ),
    ]
    return App(
        settings=settings,
        redis=redis,
        keys=keys,
        repos=repos,
        texts=texts,
        metrics=metrics,
        providers=providers,
        access=access,
        bot=bot,
        dispatcher=dispatcher,
        web_app=web_app,
        outbox=outbox,
        notifier=notifier,
        worker=worker,
        sender=sender,
        call_log=call_log,
        tuning=tuning,
        jobs=jobs,
    )


@asynccontextmanager
async def running(
    settings: Settings,
    *,
    web_role: bool,
    worker_role: bool,
    tuning: Tuning | None = None,
) -> AsyncIterator[App]:
    """Start the requested roles; on exit stop them and release every connection."""
    if tuning is None:
        claim_ms = int(settings.worker_claim_idle_seconds * 1000)
        tuning = Tuning(consumer=ConsumerOptions(claim_idle_ms=claim_ms))
    async with AsyncExitStack() as stack:
        redis = await stack.enter_async_context(open_redis(settings))
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=tuning.pbx_timeout))
        app = build_app(settings, redis, http, tuning)
        stack.push_async_callback(app.bot.session.close)
        await _check_token(app.bot)
        await register_commands(
            app.bot,
            app.texts,
            sorted(settings.admin_ids),
            extra_admin=app.providers.admin_commands(),
        )
        if web_role:
            await _start_web(app, stack)
        if worker_role:
            stop = asyncio.Event()
            stack.push_async_callback(stop_tasks, stop, app.tasks)
            _start_workers(app, stop)
            if not settings.webhook_mode:
                await app.bot.delete_webhook(drop_pending_updates=False)
                polling = Polling(app.redis, app.keys.polling_lease(), app.dispatcher, app.bot)
                polling.start()
                stack.push_async_callback(polling.stop)
        # What start-up built lives as long as the process: keep the garbage collector
        # from walking it again and again (its pauses were most of the latency tail).
        gc.collect()
        gc.freeze()
        stack.callback(gc.unfreeze)
        yield app


async def _start_web(app: App, stack: AsyncExitStack) -> None:
    if app.settings.webhook_mode:
        await _enable_telegram_webhook(app)
    runner = web.AppRunner(app.web_app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, app.settings.web_host, app.settings.web_port)
    await site.start()
    host, port = runner.addresses[0][:2]
    app.web_url = f"http://{host}:{port}"
    log.info("web listening on %s", app.web_url)


def _start_workers(app: App, stop: asyncio.Event) -> None:
    """The event workers, the outbox sender, and the background jobs."""
    name = f"{socket.gethostname()}-{os.getpid()}"
    dead_events = app.keys.dead_letters(app.keys.events_stream())
    events = StreamConsumer(
        app.redis,
        app.keys.events_stream(),
        "workers",
        name,
        app.worker.handle,
        dead_letter_stream=dead_events,
        on_dead=DeadLetterNotice(
            dead_events, app.access.admin_ids, app.notifier.notices, app.outbox
        ),
        options=app.tuning.consumer,
    )
    outbox = StreamConsumer(
        app.redis,
        app.outbox.streams(),
        "senders",
        name,
        app.sender.deliver,
        dead_letter_stream=app.keys.dead_letters(app.keys.outbox(0)),
        # Most of a delivery's time is waiting for a chat's rate limit, which costs nothing.
        options=replace(app.tuning.consumer, concurrency=SENDER_CONCURRENCY),
    )
    runner = JobRunner(app.redis, app.keys, app.metrics, app.jobs)
    app.tasks.append(asyncio.create_task(events.run(stop), name="event-worker"))
    app.tasks.append(asyncio.create_task(outbox.run(stop), name="sender"))
    app.tasks.append(asyncio.create_task(runner.run(stop), name="jobs"))


async def _check_token(bot: Bot) -> None:
    try:
        me = await bot.me()
    except TelegramUnauthorizedError:
        raise ConfigError("BOT_TOKEN: Telegram rejected this token") from None
    log.info("bot @%s is up", me.username)


async def _enable_telegram_webhook(app: App) -> None:
    secret = app.settings.webhook_secret()
    bot, dispatcher = app.bot, app.dispatcher
    handler = SimpleRequestHandler(dispatcher, bot, secret_token=secret)
    handler.register(app.web_app, path=TELEGRAM_WEBHOOK_PATH)
    app.web_app.on_startup.append(lambda _: dispatcher.emit_startup(bot=bot))
    app.web_app.on_shutdown.append(lambda _: dispatcher.emit_shutdown(bot=bot))
    await bot.set_webhook(
        app.settings.public_base() + TELEGRAM_WEBHOOK_PATH,
        secret_token=secret,
        allowed_updates=dispatcher.resolve_used_update_types(),
    )
