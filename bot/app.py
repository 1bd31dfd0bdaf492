"""Composition root: Redis, providers, Bot, Dispatcher, web app, workers and sender.

Use :func:`running` to start the roles of one process and stop them cleanly; the CLI and
the end-to-end tests both go through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import LockError

from bot.access import Access
from bot.config import Settings
from bot.errors import ConfigError
from bot.metrics import Metrics
from bot.pbx.mobilon.poller import follow_calls
from bot.pbx.mts.subscriptions import keep_subscriptions
from bot.pbx.registry import Providers
from bot.pipeline.balance import watch_balances
from bot.pipeline.calllog import CallLog
from bot.pipeline.closing import CallCloser, close_calls
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
from bot.reports.digest import DigestTiming, run_digest
from bot.storage import Keys, Repositories, open_redis
from bot.storage.lease import lease
from bot.telegram.factory import create_bot, create_dispatcher
from bot.telegram.handler_data import HandlerDeps
from bot.telegram.links import RecordingLinks
from bot.telegram.menu import register_commands
from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox, OutMessage, Priority
from bot.telegram.sender import Sender, SendLimits
from bot.texts import Texts
from bot.web import add_recording_route, build_web_app
from bot.webhook_urls import TELEGRAM_WEBHOOK_PATH
from handlers import build_router

log = logging.getLogger(__name__)

PBX_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
SENDER_CONCURRENCY = 256  # deliveries in flight per process
POLLING_LEASE_WAIT = 60.0  # seconds per attempt to become the worker that polls
STOP_GRACE = 5.0  # seconds a task has to stop when asked, and again when cancelled


@dataclass(frozen=True)
class Tuning:
    """Timings the tests and benchmarks tighten; production uses the defaults."""

    consumer: ConsumerOptions = field(default_factory=ConsumerOptions)
    send_limits: SendLimits | None = None  # None: Telegram's limits with TELEGRAM_GLOBAL_RATE
    recording_retry: float = 5.0
    delayed_poll: float = 1.0
    digest: DigestTiming = field(default_factory=DigestTiming)
    pbx_timeout: httpx.Timeout = field(default_factory=lambda: PBX_TIMEOUT)  # then it fails
    mts_tick: float = 30.0  # how often MTS subscriptions are looked after
    summary_grace: float | None = None  # None: each provider's own (bot.pipeline.closing)
    mobilon_poll: float = 5.0  # seconds between polls of Mobilon calls in progress


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
    add_ingest_routes(web_app, providers, EventStream(redis, keys), metrics)
    sessions = SessionStore(redis, keys)
    closer = CallCloser(
        redis,
        keys,
        sessions,
        EventStream(redis, keys),
        {
            p.account.id: tuning.summary_grace or p.summary_grace
            for p in providers
            if p.summary_grace is not None
        },
        {p.account.id: p.account.provider_id for p in providers},
    )
    add_recording_route(web_app, links, providers)
    worker = EventWorker(settings, sessions, notifier, metrics, call_log, command_results, closer)
    return App(
        settings,
        redis,
        keys,
        repos,
        texts,
        metrics,
        providers,
        access,
        bot,
        dispatcher,
        web_app,
        outbox,
        notifier,
        worker,
        sender,
        call_log,
        tuning,
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
        mobilon = any(account.provider_id == "mobilon" for account in settings.accounts)
        await register_commands(app.bot, app.texts, sorted(settings.admin_ids), mobilon=mobilon)
        if web_role:
            await _start_web(app, stack)
        if worker_role:
            stop = asyncio.Event()
            stack.push_async_callback(_stop_tasks, stop, app.tasks)
            _start_workers(app, stop)
            if not settings.webhook_mode:
                await app.bot.delete_webhook(drop_pending_updates=False)
                leader = asyncio.Event()
                polling = asyncio.create_task(_poll(app, leader), name="telegram-polling")
                stack.push_async_callback(_stop_polling, app.dispatcher, polling, leader)
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


PeriodicJob = Callable[[App, asyncio.Event], Coroutine[Any, Any, None]]

# Jobs every worker process runs until ``stop`` is set (each guards itself with a Redis
# lock or a shared schedule so replicas do not repeat one another's work).
PERIODIC_JOBS: dict[str, PeriodicJob] = {
    "balance-watch": watch_balances,
    "daily-digest": run_digest,
    "close-calls": close_calls,
    "mts-subscriptions": keep_subscriptions,
    "mobilon-calls": follow_calls,
}


def _start_workers(app: App, stop: asyncio.Event) -> None:
    """The event workers, the outbox sender, and the loop that re-queues delayed slots."""
    name = f"{socket.gethostname()}-{os.getpid()}"
    events = StreamConsumer(
        app.redis,
        app.keys.events_stream(),
        "workers",
        name,
        app.worker.handle,
        dead_letter_stream=app.keys.dead_letters(app.keys.events_stream()),
        on_dead=_tell_admins(app),
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
    app.tasks.append(asyncio.create_task(events.run(stop), name="event-worker"))
    app.tasks.append(asyncio.create_task(outbox.run(stop), name="sender"))
    app.tasks.append(asyncio.create_task(_release_delayed(app, stop), name="delayed"))
    for job_name, job in PERIODIC_JOBS.items():
        app.tasks.append(asyncio.create_task(_until_stopped(job, app, stop), name=job_name))


async def _until_stopped(job: PeriodicJob, app: App, stop: asyncio.Event) -> None:
    """Run ``job``; one with nothing to do (no account of its kind) may return early, but
    its task must not end before ``stop``: the process stops when any of its tasks ends."""
    await job(app, stop)
    await stop.wait()


def _tell_admins(app: App) -> Callable[[str, dict[str, str], int], Awaitable[None]]:
    async def on_dead(entry_id: str, fields: dict[str, str], deliveries: int) -> None:
        stream = app.keys.dead_letters(app.keys.events_stream())
        for admin_id in await app.access.admin_ids():
            t = await app.notifier.translator(admin_id)
            text = t("dead_letter", deliveries=deliveries, stream=stream)
            await app.outbox.put(
                f"dead:{entry_id}:{admin_id}",
                OutMessage(chat_id=admin_id, text=text),
                Priority.DIGEST,
            )

    return on_dead


async def _release_delayed(app: App, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await app.outbox.release_due()
        except Exception:
            log.exception("could not re-queue delayed messages")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), app.tuning.delayed_poll)


async def _stop_tasks(stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    """Ask the tasks to stop; cancel those still running after a grace period. Never waits
    without bound: a stuck task is named in the log and left behind."""
    stop.set()
    _, running = await asyncio.wait(tasks, timeout=STOP_GRACE) if tasks else (set(), set())
    for task in running:
        task.cancel()
    if running:
        _, stuck = await asyncio.wait(running, timeout=STOP_GRACE)
        for task in stuck:
            log.error("task %s did not stop: %r", task.get_name(), task)


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


async def _poll(app: App, leader: asyncio.Event) -> None:
    """Long polling by one worker process at a time: Telegram allows a single reader of
    getUpdates, so the other workers wait for the lease and take over if it frees up.
    ``leader`` is set while this process holds the lease. A process that loses the lease
    (it stood still, or Redis was out of reach, for longer than the lease lasts) stops
    polling and waits for its turn again, so two never read at once."""
    while True:
        try:
            async with lease(app.redis, app.keys.polling_lease(), wait=POLLING_LEASE_WAIT) as held:
                leader.set()
                stepping_down = asyncio.create_task(
                    _stop_polling_when(held.lost, app.dispatcher), name="polling-lease-watch"
                )
                try:
                    await app.dispatcher.start_polling(
                        app.bot, handle_signals=False, close_bot_session=False
                    )
                finally:
                    stepping_down.cancel()
                    await asyncio.wait({stepping_down})
                if not held.lost.is_set():
                    return
                log.warning("the polling lease expired; polling stops until it is free again")
        except LockError:
            pass  # another worker polls (or this one's lease expired): wait for the lease
        leader.clear()


async def _stop_polling_when(lost: asyncio.Event, dispatcher: Dispatcher) -> None:
    await lost.wait()
    while True:
        try:
            await dispatcher.stop_polling()
            return
        except RuntimeError:  # aiogram is still starting up: ask again
            await asyncio.sleep(0.2)


async def _stop_polling(
    dispatcher: Dispatcher, task: asyncio.Task[None], leader: asyncio.Event
) -> None:
    """Stop polling the way aiogram intends (cancelling a running poll leaves its reader
    task behind). A stop asked for while aiogram is still starting up can be lost, so it
    is asked again until polling has ended; a process still waiting for the lease is
    simply cancelled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_GRACE
    while leader.is_set() and not task.done() and loop.time() < deadline:
        stopping = asyncio.create_task(dispatcher.stop_polling(), name="stop-polling")
        await asyncio.wait({stopping, task}, timeout=0.2, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        await asyncio.wait({stopping})
        if not stopping.cancelled():
            stopping.exception()  # "not started yet" is expected here; try again
    if not leader.is_set():
        task.cancel()  # still waiting for the lease: nothing to wind down
    await _stop_tasks(asyncio.Event(), [task])
