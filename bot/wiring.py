"""Wiring: every part of the app built from the settings and given what it needs, with
keyword arguments; nothing is started here. :func:`bot.app.running` starts the roles.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from aiogram import Bot, Dispatcher
from aiohttp import web
from redis.asyncio import Redis

from bot.config import Settings
from bot.metrics import Metrics
from bot.pbx.base import Capability, JobDeps
from bot.pbx.mts.provider import MtsProvider
from bot.pbx.providers import Providers
from bot.pipeline.closing import CallCloser, closing_jobs
from bot.pipeline.command_results import CommandResults
from bot.pipeline.consumer import ConsumerOptions
from bot.pipeline.identify import Identifier
from bot.pipeline.ingest import add_ingest_routes
from bot.pipeline.notify import Notifier
from bot.pipeline.reconcile import Reconciler, ReconcileTiming, reconcile_jobs
from bot.pipeline.sessions import SessionStore
from bot.pipeline.stream import EventStream
from bot.pipeline.worker import EventWorker
from bot.ratelimit import SharedRateLimiter
from bot.reports.digest import DailyDigest, DigestTiming, digest_jobs
from bot.runtime import Job
from bot.services.access import Access
from bot.services.audit import AuditLog
from bot.services.balance_watch import BalanceWatch, balance_jobs
from bot.services.call_context import CallContexts
from bot.services.call_control import CallControl
from bot.services.call_log import CallLog
from bot.services.call_notes import CallNotes
from bot.services.callback_ladder import CallbackLadder
from bot.services.caller_identity import LOOKUP_TIMEOUT, CallerIdentity
from bot.services.dialing import Dialer
from bot.services.employee_names import DirectoryCache
from bot.services.incidents import Incidents
from bot.services.missed_calls import MissedCalls
from bot.services.night_summary import NightSummary
from bot.services.outgoing_lines import OutgoingLines
from bot.services.phonebook import Phonebook
from bot.services.presence import Presence
from bot.services.silence_watch import SilenceWatch
from bot.services.transcripts import Transcripts, TranscriptTiming
from bot.services.webhook_watch import WebhookWatch
from bot.storage import Invalidations, Keys, Repositories
from bot.telegram.connection import TelegramState
from bot.telegram.dead_letters import RefusedMessages
from bot.telegram.factory import create_bot, create_dispatcher
from bot.telegram.handler_data import HandlerDeps
from bot.telegram.notices import Notices
from bot.telegram.outage import OutageIncidents, OutagePolicy
from bot.telegram.outbox import Outbox
from bot.telegram.recording_links import RecordingLinks
from bot.telegram.sender import BACKOFF, MESSAGE_TIMEOUT, Sender, SendLimits
from bot.texts import Texts
from bot.web import add_recording_route, build_web_app
from handlers import build_router

PBX_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
SENDER_CONCURRENCY = 256  # deliveries in flight per process


@dataclass(frozen=True)
class Tuning:
    """Timings the tests and benchmarks tighten; production uses the defaults."""

    consumer: ConsumerOptions = field(default_factory=ConsumerOptions)
    send_limits: SendLimits | None = None  # None: Telegram's limits with TELEGRAM_GLOBAL_RATE
    recording_retry: float = 5.0
    send_backoff: tuple[float, ...] = BACKOFF  # quick retries of one delivery
    outage_retry_cap: float = 60.0  # the longest wait between tries while Telegram is down
    telegram_timeout: int = MESSAGE_TIMEOUT  # seconds a message may take to send
    # Webhooks failing verification: how many within how many seconds make an incident,
    # and how often the watchdog looks.
    refusal_threshold: int = 5
    refusal_window: float = 600.0
    watch_period: float = 60.0
    delayed_poll: float = 1.0
    digest: DigestTiming = field(default_factory=DigestTiming)
    pbx_timeout: httpx.Timeout = field(default_factory=lambda: PBX_TIMEOUT)  # then it fails
    summary_grace: float | None = None  # None: each provider's own (bot.pipeline.closing)
    reconcile: ReconcileTiming = field(default_factory=ReconcileTiming)  # reading call logs
    # Providers' background jobs by name: seconds between runs.
    job_periods: Mapping[str, float] = field(default_factory=dict)
    # Reaching Telegram in the background: first pause, doubling up to the cap; and how
    # long start-up waits for the first try (a rejected token stops start-up then).
    # The clock deadlines are read by (tests turn it by hand), and how often the callback
    # ladder looks for due steps.
    clock: Callable[[], float] = time.time
    ladder_period: float = 15.0
    telegram_retry_first: float = 1.0
    telegram_retry_max: float = 60.0
    telegram_first_try: float = 10.0
    lookup_timeout: float = LOOKUP_TIMEOUT  # seconds the PBX's address book may take
    identify: bool = True  # callers' names and context on cards (off: a benchmark's baseline)
    transcripts: TranscriptTiming = field(default_factory=TranscriptTiming)
    group_line_seconds: float = 60.0  # "sent you privately" stays this long in a group


@dataclass
class App:
    """Everything one process has wired together."""

    settings: Settings
    redis: Redis
    keys: Keys
    repos: Repositories
    invalidations: Invalidations  # keeps people in the process between changes
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
    telegram: TelegramState  # whether Telegram answers; anything talking to it may mark it
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
    invalidations = Invalidations(redis)
    repos = Repositories.over(redis, keys, invalidations)
    texts = Texts()
    metrics = Metrics()
    telegram = TelegramState(metrics.telegram_up)
    limiter = SharedRateLimiter(redis)
    providers = Providers.from_settings(settings, http, limiter, redis=redis, keys=keys)
    for mts in providers.of_class(MtsProvider):  # event types MTS may add, counted
        mts.ignored.bind(metrics.pbx_events_ignored)
    audit = AuditLog(
        redis,
        keys,
        max_entries=settings.audit_max_entries,
        retention_days=settings.audit_retention_days,
    )
    access = Access(repos=repos, settings=settings, providers=providers, audit=audit)
    bot = create_bot(settings)
    outbox = Outbox(redis, keys)
    retention = timedelta(days=settings.call_retention_days)
    missed = MissedCalls(redis, keys, retention=retention)
    call_log = CallLog(redis, keys, retention=retention)
    notices = Notices(bot, texts, repos)
    sessions = SessionStore(redis, keys)
    directory = DirectoryCache(redis=redis, keys=keys, providers=providers)
    notifier = Notifier(
        settings=settings,
        repos=repos,
        outbox=outbox,
        texts=texts,
        directory=directory,
        missed=missed,
        notices=notices,
        clock=tuning.clock,
        providers=providers,
    )
    links = RecordingLinks(
        settings.public_base() if settings.public_url else None,
        settings.webhook_secret().encode(),
    )
    sender = Sender(
        bot=bot,
        redis=redis,
        keys=keys,
        outbox=outbox,
        limiter=limiter,
        limits=tuning.send_limits or SendLimits.per_second(settings.telegram_global_rate),
        providers=providers,
        repos=repos,
        texts=texts,
        metrics=metrics,
        links=links,
        notices=notices,
        about_ttl=retention,
        recording_retry=tuning.recording_retry,
        backoff=tuning.send_backoff,
        request_timeout=tuning.telegram_timeout,
        outage=OutagePolicy(
            patience=settings.telegram_outage_hours * 3600, cap=tuning.outage_retry_cap
        ),
        telegram=telegram,
        refused=RefusedMessages(
            redis,
            keys.dead_letters(keys.outbox(0)),
            access.admin_ids,
            notices,
            outbox,
            maxlen=settings.dead_letters_max,
        ),
        incidents=OutageIncidents(
            redis,
            keys.telegram_outage(),
            access.admin_ids,
            notices,
            outbox,
            notice_after=settings.telegram_outage_notice_minutes * 60,
            patience=settings.telegram_outage_hours * 3600,
        ),
    )
    outgoing_lines = OutgoingLines(redis, keys, call_log)
    presence = Presence(redis, keys)
    call_control = CallControl(
        redis=redis,
        keys=keys,
        settings=settings,
        sessions=sessions,
        providers=providers,
        limiter=limiter,
        commands=repos.commands,
        notifier=notifier,
    )
    command_results = CommandResults(
        redis=redis, keys=keys, commands=repos.commands, outbox=outbox, texts=texts
    )
    dispatcher = create_dispatcher(
        build_router(group_line_seconds=tuning.group_line_seconds),
        HandlerDeps(
            redis=redis,
            keys=keys,
            settings=settings,
            repos=repos,
            texts=texts,
            providers=providers,
            access=access,
            audit=audit,
            notices=notices,
            notifier=notifier,
            missed_calls=missed,
            call_log=call_log,
            call_notes=CallNotes(sessions, call_log, notifier),
            outgoing_lines=outgoing_lines,
            call_control=call_control,
            presence=presence,
            outbox=outbox,
            limiter=limiter,
            dialer=Dialer(
                bot=bot,
                settings=settings,
                providers=providers,
                limiter=limiter,
                results=command_results,
                lines=outgoing_lines,
            ),
            telegram=telegram,
            clock=tuning.clock,
        ),
        metrics,
    )
    web_app = build_web_app(settings, redis, metrics, telegram)
    stream = EventStream(redis, keys)
    incidents = Incidents(redis, keys, access.admin_ids, notices, outbox)
    watch = WebhookWatch(
        redis,
        keys,
        incidents,
        threshold=tuning.refusal_threshold,
        window=tuning.refusal_window,
    )
    add_ingest_routes(web_app, providers, stream, metrics, watch=watch)
    closer = CallCloser(
        redis=redis,
        keys=keys,
        sessions=sessions,
        stream=stream,
        grace={
            p.account.id: tuning.summary_grace or p.summary_grace
            for p in providers
            if p.summary_grace is not None
        },
        providers={p.account.id: p.account.provider_id for p in providers},
    )
    add_recording_route(web_app, links, providers)
    worker = EventWorker(
        settings=settings,
        sessions=sessions,
        notifier=notifier,
        metrics=metrics,
        call_log=call_log,
        command_results=command_results,
        closer=closer,
    )
    transcripts = Transcripts(
        redis, keys, providers, outbox, notices, tuning.transcripts, clock=tuning.clock
    )
    worker.transcripts = transcripts
    worker.presence = presence
    worker.call_control = call_control
    worker.identifier = (
        None
        if not tuning.identify
        else Identifier(
            redis,
            CallerIdentity(
                redis,
                keys,
                providers,
                Phonebook(redis, keys),
                directory,
                timeout=tuning.lookup_timeout,
            ),
            CallContexts(redis, keys),
            sessions,
            worker.redraw,
            missed,
        )
    )
    balances = BalanceWatch(
        redis=redis,
        keys=keys,
        settings=settings,
        providers=providers,
        repos=repos,
        outbox=outbox,
        notices=notices,
    )
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
        Job("delayed", outbox.release, period=tuning.delayed_poll),
        *(
            [transcripts.job()]
            if any(p.supports(Capability.TRANSCRIPTS) for p in providers)
            else []
        ),
        watch.job([account.id for account in settings.accounts], tuning.watch_period),
        *SilenceWatch(redis, keys, incidents, settings.accounts, settings.zone).jobs(
            tuning.watch_period
        ),
        *CallbackLadder(
            settings=settings,
            repos=repos,
            missed=missed,
            notifier=notifier,
            outbox=outbox,
            providers=providers,
            texts=texts,
            clock=tuning.clock,
        ).jobs(tuning.ladder_period),
        *NightSummary(
            settings=settings,
            redis=redis,
            keys=keys,
            repos=repos,
            missed=missed,
            notifier=notifier,
            outbox=outbox,
            clock=tuning.clock,
        ).jobs(tuning.ladder_period),
        *closing_jobs(closer),
        *reconcile_jobs(
            Reconciler(
                redis=redis,
                keys=keys,
                providers=providers,
                sessions=sessions,
                stream=stream,
                timing=tuning.reconcile,
            )
        ),
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
                incidents=incidents,
            )
        ),
    ]
    return App(
        settings=settings,
        redis=redis,
        keys=keys,
        repos=repos,
        invalidations=invalidations,
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
        telegram=telegram,
        tuning=tuning,
        jobs=jobs,
    )
