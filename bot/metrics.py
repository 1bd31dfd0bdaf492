"""Prometheus metrics of one process, in their own registry (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The counters pbxgram keeps; create one per app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
            "1 when Redis answered the last readiness check",
            registry=self.registry,
        )
        self.telegram_up = Gauge(
            "pbxgram_telegram_up",
            "1 when Telegram answered this process's last try to reach it; 0 while it is "
            "unreachable, not tried yet, or not used by this process (web role alone)",
            registry=self.registry,
        )
