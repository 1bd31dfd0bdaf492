"""PBX webhook routes: verify, normalise, store in the events stream, answer.

Nothing slow happens before the answer, and nothing unverified is stored. Answers:
unknown account 404, bad signature 403 (no detail), malformed 400, stored 2xx, and 503
only when the events could not be stored (so the PBX retries).
"""

from __future__ import annotations

import logging

from aiohttp import web
from redis.exceptions import RedisError

from bot.metrics import Metrics
from bot.pbx.base import Inbound, Provider, Route, WebhookError
from bot.pbx.providers import Providers
from bot.pbx.registry import provider_classes
from bot.pipeline.stream import EventStream
from bot.services.webhook_watch import WebhookWatch
from bot.web import add_pbx_route

log = logging.getLogger(__name__)


def add_ingest_routes(
    app: web.Application,
    providers: Providers,
    stream: EventStream,
    metrics: Metrics,
    *,
    watch: WebhookWatch | None = None,
) -> None:
    """Register every provider type's webhook routes under ``/pbx/{account}``."""
    ingest = _Ingest(providers, stream, metrics, watch)
    seen: set[tuple[str, str]] = set()
    for provider_class in provider_classes().values():
        for route in provider_class.routes:
            if (route.method, route.path) in seen:
                continue
            seen.add((route.method, route.path))
            add_pbx_route(app, route.method, route.path, ingest.handle)


class _Ingest:
    def __init__(
        self,
        providers: Providers,
        stream: EventStream,
        metrics: Metrics,
        watch: WebhookWatch | None,
    ) -> None:
        self.providers = providers
        self.stream = stream
        self.metrics = metrics
        self.watch = watch

    async def handle(self, request: web.Request) -> web.StreamResponse:
        provider = self.providers.get(request.match_info["account"])
        route = _route_of(provider, request) if provider is not None else None
        if provider is None or route is None:
            return web.json_response({"error": "not found"}, status=404)
        inbound = Inbound(
            route=route.name,
            method=request.method,
            headers=dict(request.headers),
            query=dict(request.query),
            body=b"" if provider.streams_body else await request.read(),
            params={k: v for k, v in request.match_info.items() if k != "account"},
        )
        try:
            inbound = await provider.prepare(inbound)
            provider.verify(inbound)
            if provider.streams_body:
                events = await provider.receive(inbound, request.content)
            else:
                events = provider.parse(inbound)
        except WebhookError as exc:
            self._count(provider, route, str(exc.status))
            log.info(
                "rejected %s %s for %s: %s",
                request.method,
                route.name,
                provider.account.id,
                exc.__class__.__name__,
            )
            if exc.status == 403 and self.watch is not None:
                await self._note_refused(provider)
            message = "forbidden" if exc.status == 403 else str(exc)
            return web.json_response({"error": message}, status=exc.status)
        except (RedisError, OSError):  # state a provider keeps while receiving
            log.exception("could not receive a request from %s", provider.account.id)
            self._count(provider, route, "503")
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        try:
            await self.stream.put(events)
        except (RedisError, OSError):
            log.exception("could not store events from %s", provider.account.id)
            self._count(provider, route, "503")
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        self._count(provider, route, "accepted")
        reply = provider.acknowledge(inbound, events)
        return web.json_response(reply.json, status=reply.status)

    async def _note_refused(self, provider: Provider) -> None:
        assert self.watch is not None
        try:
            await self.watch.refused(provider.account.id)
        except (RedisError, OSError):  # the answer is 403 either way
            log.warning("could not count a refused webhook of %s", provider.account.id)

    def _count(self, provider: Provider, route: Route, outcome: str) -> None:
        self.metrics.webhooks.labels(provider.account.provider_id, route.name, outcome).inc()


def _route_of(provider: Provider, request: web.Request) -> Route | None:
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else ""
    path = canonical.removeprefix("/pbx/{account}")
    return next((r for r in provider.routes if r.path == path and r.method == request.method), None)
