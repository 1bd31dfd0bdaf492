"""Bot API traffic through ``TELEGRAM_PROXY``: aiogram's aiohttp session with aiohttp-socks.

Every request of the session goes through the proxy: method calls, multipart uploads and
file downloads. ``http://`` proxies get a ``CONNECT`` tunnel, ``https://`` ones the same over
TLS to the proxy, ``socks5://`` ones SOCKS5 (names resolved by the proxy). A proxy that
refuses or cannot be reached is a network error like any other: the sender retries it.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

import certifi
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response


def proxied_session(api: TelegramAPIServer, proxy_url: str) -> AiohttpSession:
    """An aiohttp session for ``api`` whose every connection goes through ``proxy_url``."""
    tls_to_proxy = proxy_url.startswith("https://")
    if tls_to_proxy:  # aiohttp-socks knows it as an HTTP proxy reached over TLS
        proxy_url = "http://" + proxy_url.removeprefix("https://")
    session = AiohttpSession(api=api, proxy=proxy_url)
    # aiogram's proxy connector drops the certifi context it uses without a proxy
    trusted = ssl.create_default_context(cafile=certifi.where())
    session._connector_init["ssl"] = trusted
    if tls_to_proxy:
        session._connector_init["proxy_ssl"] = trusted
    session.middleware(ProxyErrorMiddleware())
    return session


class ProxyErrorMiddleware(BaseRequestMiddleware):
    """Turns the proxy's refusals and failures into :class:`TelegramNetworkError`.

    aiohttp-socks raises its own errors, which aiogram passes on as they are; the text keeps
    only their class and message (proxy host and port, never its credentials).
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except (ProxyError, ProxyConnectionError, ProxyTimeoutError) as exc:
            message = f"proxy: {type(exc).__name__}: {exc}"
            raise TelegramNetworkError(method=method, message=message) from None


__all__ = ["ProxyErrorMiddleware", "proxied_session"]
