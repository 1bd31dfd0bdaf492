"""The entry point of every role: :func:`running` builds the app (:mod:`bot.wiring`),
starts the requested roles, and stops them cleanly; the CLI, the demo and the end-to-end
tests all go through it.

The web role serves everything on ``WEB_PORT``; the worker role alone serves ``/healthz``,
``/readyz`` and ``/metrics`` (the web role's handlers) on ``WORKER_PORT``.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace

from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.config import Settings
from bot.pbx.http_client import PbxHttpClient
from bot.pbx.http_transport import AiohttpTransport
from bot.pipeline.consumer import ConsumerOptions, StreamConsumer
from bot.pipeline.stream import entry_call
from bot.runtime import JobRunner, Polling, stop_tasks
from bot.runtime.telegram_link import Backoff, TelegramLink
from bot.storage import open_redis
from bot.telegram.dead_letters import DeadLetterNotice
from bot.telegram.menu import register_commands
from bot.web import build_web_app
from bot.webhook_urls import TELEGRAM_WEBHOOK_PATH
from bot.wiring import SENDER_CONCURRENCY, App, Tuning, build_app

__all__ = ["App", "Tuning", "build_app", "running"]

log = logging.getLogger(__name__)

# Objects made and not yet freed before the garbage collector looks at the young ones
# (Python's default is 700); a collection then takes about a millisecond.
YOUNG_COLLECTION_THRESHOLD = 5000


@asynccontextmanager
async def running(
    settings: Settings,
    *,
    web_role: bool,
    worker_role: bool,
    tuning: Tuning | None = None,
) -> AsyncIterator[App]:
    """Start the requested roles; on exit stop them and release every connection.

    Nothing waits for Telegram beyond its first try (``Tuning.telegram_first_try``): PBX
    events are taken and processed while it is away, and it is tried again in the
    background. A token Telegram rejects raises :class:`ConfigError`, here or from the
    ``telegram-link`` task in ``app.tasks``.
    """
    if tuning is None:
        claim_ms = int(settings.worker_claim_idle_seconds * 1000)
        tuning = Tuning(consumer=ConsumerOptions(claim_idle_ms=claim_ms))
    async with AsyncExitStack() as stack:
        redis = await stack.enter_async_context(open_redis(settings))
        http = await stack.enter_async_context(
            PbxHttpClient(timeout=tuning.pbx_timeout, transport=AiohttpTransport())
        )
        app = build_app(settings, redis, http, tuning)
        stack.push_async_callback(app.bot.session.close)
        stop = asyncio.Event()
        stack.push_async_callback(stop_tasks, stop, app.tasks)
        if web_role:
            await _start_web(app, stack)
        if worker_role:
            # Workers keep people in the process between changes; the web role reads them.
            app.tasks.append(asyncio.create_task(app.invalidations.listen(stop), name="changes"))
            _start_workers(app, stop)
            if not web_role:
                await _start_worker_http(app, stack)
            if app.worker.identifier is not None:
                stack.push_async_callback(app.worker.identifier.close)
        link = telegram_link(app, web_role=web_role, worker_role=worker_role, stack=stack)
        if link is not None:
            app.tasks.append(link.start())
            stack.push_async_callback(link.close)
            await link.first_try(tuning.telegram_first_try)
        # What start-up built lives as long as the process: keep the garbage collector
        # from walking it again and again (its pauses were most of the latency tail).
        gc.collect()
        gc.freeze()
        stack.callback(gc.unfreeze)
        # Every event makes and drops a few hundred objects: collecting the young ones
        # only every few thousand lets most die first, instead of being walked and moved
        # to an older generation to be walked again.
        thresholds = gc.get_threshold()
        gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *thresholds[1:])
        stack.callback(gc.set_threshold, *thresholds)
        yield app


async def _start_web(app: App, stack: AsyncExitStack) -> None:
    if app.settings.webhook_mode:
        _take_telegram_webhook(app)
    runner = web.AppRunner(app.web_app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, app.settings.web_host, app.settings.web_port)
    await site.start()
    host, port = runner.addresses[0][:2]
    app.web_url = f"http://{host}:{port}"
    log.info("web listening on %s", app.web_url)


async def _start_worker_http(app: App, stack: AsyncExitStack) -> None:
    """Health, readiness and metrics of a worker process on ``WORKER_PORT`` (its URL in
    ``app.web_url``). A port already taken (several workers on one host) is logged and
    the worker goes on without them: its work does not depend on being watched."""
    settings = app.settings
    runner = web.AppRunner(
        build_web_app(settings, app.redis, app.metrics, app.telegram), access_log=None
    )
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    try:
        await web.TCPSite(runner, settings.web_host, settings.worker_port).start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        log.warning(
            "WORKER_PORT %d is taken: this worker serves no /healthz, /readyz or /metrics "
            "(give each worker on one host its own WORKER_PORT)",
            settings.worker_port,
        )
        return
    host, port = runner.addresses[0][:2]
    app.web_url = f"http://{host}:{port}"
    log.info("worker health and metrics on %s", app.web_url)


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
        dead_letters_max=app.settings.dead_letters_max,
        key=entry_call,
        together=app.worker.handle_together,
    )
    outbox = StreamConsumer(
        app.redis,
        app.outbox.streams(),
        "senders",
        name,
        app.sender.deliver,
        dead_letter_stream=app.keys.dead_letters(app.keys.outbox(0)),
        dead_letters_max=app.settings.dead_letters_max,
        # Most of a delivery's time is waiting for a chat's rate limit, which costs nothing.
        options=replace(app.tuning.consumer, concurrency=SENDER_CONCURRENCY),
    )
    runner = JobRunner(app.redis, app.keys, app.metrics, app.jobs)
    app.tasks.append(asyncio.create_task(events.run(stop), name="event-worker"))
    app.tasks.append(asyncio.create_task(outbox.run(stop), name="sender"))
    app.tasks.append(asyncio.create_task(runner.run(stop), name="jobs"))


def telegram_link(
    app: App, *, web_role: bool, worker_role: bool, stack: AsyncExitStack
) -> TelegramLink | None:
    """What this process does with Telegram once it answers: the menu (workers), the
    webhook (web role in webhook mode), or long polling (workers otherwise). None for the
    web role alone in long-polling mode: it never talks to Telegram."""
    settings, bot = app.settings, app.bot
    webhook = settings.webhook_mode and web_role
    polling = worker_role and not settings.webhook_mode
    if not (worker_role or webhook):
        return None

    async def setup() -> None:
        if worker_role:
            await register_commands(
                bot,
                app.texts,
                sorted(settings.admin_ids),
                extra_admin=app.providers.admin_commands(),
            )
        if webhook:
            await bot.set_webhook(
                settings.public_base() + TELEGRAM_WEBHOOK_PATH,
                secret_token=settings.webhook_secret(),
                allowed_updates=app.dispatcher.resolve_used_update_types(),
            )
        if polling:
            await bot.delete_webhook(drop_pending_updates=False)

    poller = None
    if polling:
        poller = Polling(app.redis, app.keys.polling_lease(), app.dispatcher, bot)
        stack.push_async_callback(poller.stop)
    backoff = Backoff(app.tuning.telegram_retry_first, app.tuning.telegram_retry_max)
    return TelegramLink(bot, app.telegram, setup, polling=poller, backoff=backoff)


def _take_telegram_webhook(app: App) -> None:
    """Serve Telegram's pushes; the webhook itself is set by the Telegram link."""
    bot, dispatcher = app.bot, app.dispatcher
    handler = SimpleRequestHandler(dispatcher, bot, secret_token=app.settings.webhook_secret())
    handler.register(app.web_app, path=TELEGRAM_WEBHOOK_PATH)
    app.web_app.on_startup.append(lambda _: dispatcher.emit_startup(bot=bot))
    app.web_app.on_shutdown.append(lambda _: dispatcher.emit_shutdown(bot=bot))
