"""Creating the aiogram Bot and Dispatcher the way the rest of the app expects them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import TelegramObject, Update

from bot.config import Settings
from bot.metrics import Metrics
from bot.telegram.handler_data import HandlerDeps
from bot.telegram.identity import IdentityMiddleware
from bot.telegram.proxy import proxied_session
from bot.telegram.retry import RetryAfterMiddleware


class SharedRedisStorage(RedisStorage):
    """aiogram's RedisStorage over the app's own client, which the app closes itself.

    aiogram closes its storage when polling stops; with a shared client that would cut
    off the workers still using it.
    """

    async def close(self) -> None:
        return None


def create_bot(settings: Settings) -> Bot:
    """A Bot with HTML parse mode, talking to ``TELEGRAM_API_URL`` (through ``TELEGRAM_PROXY``)."""
    base = str(settings.telegram_api_url).rstrip("/")
    api = TelegramAPIServer.from_base(base)
    proxy = settings.telegram_proxy
    session = (
        AiohttpSession(api=api) if proxy is None else proxied_session(api, proxy.get_secret_value())
    )
    session.middleware(RetryAfterMiddleware())
    return Bot(
        token=settings.require_bot_token().get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_dispatcher(root: Router, deps: HandlerDeps, metrics: Metrics) -> Dispatcher:
    """A fresh Dispatcher over ``root``, FSM in Redis (shared by replicas), ``deps`` injected.

    Handlers receive every entry of ``deps`` as keyword arguments, and ``identity`` and ``t``
    for updates from a person. Build ``root`` anew for each Dispatcher.
    """
    key_builder = DefaultKeyBuilder(prefix=deps["keys"].fsm_prefix())
    storage = SharedRedisStorage(deps["redis"], key_builder=key_builder)
    dispatcher = Dispatcher(storage=storage, **deps)
    dispatcher.update.outer_middleware(_UpdateCounter(metrics))
    dispatcher.update.outer_middleware(IdentityMiddleware())
    dispatcher.include_router(root)
    return dispatcher


class _UpdateCounter(BaseMiddleware):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update):
            self.metrics.telegram_updates.labels(event.event_type).inc()
        return await handler(event, data)
