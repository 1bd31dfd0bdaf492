"""The aiohttp app: health, readiness, metrics, and the ``/pbx/{account}/…`` space.

Use :func:`build_web_app`; PBX providers add their routes with :func:`add_pbx_route`,
and any path under ``/pbx/`` naming an unknown account answers 404. The worker role alone
serves the same app, with no routes added, on ``WORKER_PORT`` (:mod:`bot.app`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.config import Settings
from bot.metrics import Metrics
from bot.observability import Backlog
from bot.pbx.base import PbxError
from bot.pbx.providers import Providers
from bot.storage.keys import Keys
from bot.telegram.connection import TelegramState
from bot.telegram.recording_links import RecordingLinks

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SETTINGS_KEY = web.AppKey("settings", Settings)
REDIS_KEY = web.AppKey("redis", Redis)
METRICS_KEY = web.AppKey("metrics", Metrics)
TELEGRAM_KEY = web.AppKey("telegram", TelegramState)
BACKLOG_KEY = web.AppKey("backlog", Backlog)


def build_web_app(
    settings: Settings, redis: Redis, metrics: Metrics, telegram: TelegramState | None = None
) -> web.Application:
    """Health, readiness, metrics and the account check for PBX routes (``telegram``:
    the process's Telegram state, reported by ``/readyz``; None: Telegram is not used)."""
    app = web.Application(middlewares=[_count_requests, _known_account], client_max_size=8 << 20)
    app[SETTINGS_KEY] = settings
    app[REDIS_KEY] = redis
    app[METRICS_KEY] = metrics
    app[TELEGRAM_KEY] = telegram or TelegramState(metrics.telegram_up)
    accounts = [account.id for account in settings.accounts]
    app[BACKLOG_KEY] = Backlog(redis, Keys(), accounts, metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    return app


def add_pbx_route(app: web.Application, method: str, path: str, handler: Handler) -> None:
    """Add a PBX webhook route; ``path`` is relative to ``/pbx/{account}``."""
    app.router.add_route(method, "/pbx/{account}" + path, handler)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    """Ready when Redis answers: that is all taking PBX events needs. A process that talks
    to Telegram adds its state (up, down, connecting); it never makes the process unready,
    since messages only wait for Telegram."""
    metrics, telegram = request.app[METRICS_KEY], request.app[TELEGRAM_KEY]
    extra = {"telegram": telegram.describe()} if telegram.used else {}
    try:
        await request.app[REDIS_KEY].ping()
    except (RedisError, OSError):
        metrics.ready.set(0)
        return web.json_response({"status": "redis unreachable", **extra}, status=503)
    metrics.ready.set(1)
    return web.json_response({"status": "ready", **extra})


async def _metrics(request: web.Request) -> web.Response:
    await request.app[BACKLOG_KEY].refresh()
    body = generate_latest(request.app[METRICS_KEY].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@web.middleware
async def _known_account(request: web.Request, handler: Handler) -> web.StreamResponse:
    parts = request.path.split("/")
    if len(parts) > 2 and parts[1] == "pbx" and request.app[SETTINGS_KEY].account(parts[2]) is None:
        return web.json_response({"error": "unknown account"}, status=404)
    return await handler(request)


@web.middleware
async def _count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        request.app[METRICS_KEY].http_requests.labels(name, str(exc.status)).inc()
        raise
    request.app[METRICS_KEY].http_requests.labels(name, str(response.status)).inc()
    return response


def add_recording_route(app: web.Application, links: RecordingLinks, providers: Providers) -> None:
    """``GET /recordings/…``: stream a recording behind a signed, expiring link."""

    async def recording(request: web.Request) -> web.StreamResponse:
        info = request.match_info
        try:
            expires = int(info["expires"])
        except ValueError:
            raise web.HTTPNotFound() from None
        if not links.valid(info["account"], info["recording_id"], expires, info["signature"]):
            raise web.HTTPForbidden()
        provider = providers.get(info["account"])
        if provider is None:
            raise web.HTTPNotFound()
        try:
            stream = await provider.recording(info["recording_id"])
        except PbxError:
            raise web.HTTPServiceUnavailable() from None
        response = web.StreamResponse(
            headers={
                "Content-Type": stream.content_type,
                "Content-Disposition": f'attachment; filename="{stream.filename}"',
            }
        )
        await response.prepare(request)
        try:
            async for chunk in stream.chunks:
                await response.write(chunk)
        finally:
            await stream.aclose()
        await response.write_eof()
        return response

    app.router.add_get("/recordings/{account}/{expires}/{signature}/{recording_id:.+}", recording)
