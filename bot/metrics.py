"""Prometheus metrics of one process, in their own registry (served at ``/metrics``).

Besides pbxgram's own counters the registry holds prometheus-client's process, platform
and garbage-collector collectors, and the backlog gauges :mod:`bot.observability` sets
from Redis on each scrape.
"""

from __future__ import annotations

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)


class Metrics:
    """The counters pbxgram keeps; create one per app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        self.http_requests = Counter(
            "pbxgram_http_requests",
            "HTTP requests served, by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.telegram_updates = Counter(
            "pbxgram_telegram_updates",
            "Telegram updates received, by type",
            ["type"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "pbxgram_webhooks",
            "PBX webhook requests, by provider, route and outcome",
            ["provider", "route", "outcome"],
            registry=self.registry,
        )
        self.telegram_sent = Counter(
            "pbxgram_telegram_deliveries",
            "Outbox deliveries to Telegram, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.telegram_wait = Histogram(
            "pbxgram_telegram_limiter_wait_seconds",
            "Time spent waiting for a Telegram rate-limit slot",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 30),
            registry=self.registry,
        )
        self.pbx_events_ignored = Counter(
            "pbxgram_pbx_events_ignored",
            "PBX notifications of a type pbxgram does not know, answered 200 and dropped, "
            "by provider and type",
            ["provider", "type"],
            registry=self.registry,
        )
        self.events_processed = Counter(
            "pbxgram_events_processed",
            "PBX events processed by the workers, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.job_runs = Counter(
            "pbxgram_job_runs",
            "Ticks of background jobs started in this process, by job",
            ["job"],
            registry=self.registry,
        )
        self.job_failures = Counter(
            "pbxgram_job_failures",
            "Ticks of background jobs that raised, by job",
            ["job"],
            registry=self.registry,
        )
        self.job_last_success = Gauge(
            "pbxgram_job_last_success_timestamp_seconds",
            "When a tick of the job last ended without an error (Unix time)",
            ["job"],
            registry=self.registry,
        )
        self.ready = Gauge(
            "pbxgram_ready",
            "1 when Redis answered the last readiness check or metrics scrape",
            registry=self.registry,
        )
        self.telegram_up = Gauge(
            "pbxgram_telegram_up",
            "1 when Telegram answered this process's last try to reach it; 0 while it is "
            "unreachable, not tried yet, or not used by this process (web role alone)",
            registry=self.registry,
        )
        self.backlog = BacklogGauges(self.registry)


class BacklogGauges:
    """What waits in Redis, as last read by a scrape (:class:`bot.observability.Backlog`);
    shared by every replica, so any one replica's figures are the whole deployment's."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.events_length = Gauge(
            "pbxgram_events_stream_length",
            "Entries kept in the PBX events stream (processed ones included, trimmed at a cap)",
            registry=registry,
        )
        self.events_backlog = Gauge(
            "pbxgram_events_backlog",
            "PBX events waiting for the workers (not read yet plus in work)",
            registry=registry,
        )
        self.lag = Gauge(
            "pbxgram_stream_lag",
            "Entries of a stream its consumer group has not read yet, by stream and group",
            ["stream", "group"],
            registry=registry,
        )
        self.pending = Gauge(
            "pbxgram_stream_pending",
            "Entries a consumer group has read but not acknowledged yet (in work, or held "
            "by a crashed consumer), by stream and group",
            ["stream", "group"],
            registry=registry,
        )
        self.outbox_backlog = Gauge(
            "pbxgram_outbox_backlog",
            "Outbox messages waiting for the sender (not read yet plus in work), by priority "
            "(0 ringing card, 1 missed alert, 2 summary, 3 recording, 4 digest)",
            ["priority"],
            registry=registry,
        )
        self.outbox_delayed = Gauge(
            "pbxgram_outbox_delayed",
            "Outbox messages waiting for a retry time (Telegram's retry_after, a 5xx)",
            registry=registry,
        )
        self.outbox_stalled = Gauge(
            "pbxgram_outbox_stalled",
            "Outbox messages waiting in line for Telegram to be reachable again",
            registry=registry,
        )
        self.dead_letters = Gauge(
            "pbxgram_dead_letters",
            "Entries in a dead-letter stream (events or outbox messages that kept failing); "
            "handled with `pbxgram dead-letters`",
            ["stream"],
            registry=registry,
        )
        self.last_event_age = Gauge(
            "pbxgram_seconds_since_last_event",
            "Seconds since a call event of the account was last handled (absent until one was)",
            ["account"],
            registry=registry,
        )
        self.redis_up = Gauge(
            "pbxgram_redis_up",
            "1 when Redis answered the last scrape's backlog read",
            registry=registry,
        )
