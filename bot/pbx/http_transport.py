"""An httpx transport that sends requests with aiohttp.

Use :class:`AiohttpTransport` as the ``transport`` of the app's PBX client: the PBX
clients keep httpx's API (requests, responses, timeouts, exceptions), while the request
itself goes through aiohttp's connection pool, which costs about a third of the CPU of
httpx's own transport per request (measured with a form POST on loopback).

What a failure means is kept exactly, because :func:`bot.pbx.errors.transport_error`
decides from it whether a command may have reached the PBX:

- no connection (refused, DNS, TLS, no free connection in time): ``ConnectError`` or
  ``ConnectTimeout``; the request was not sent;
- the server closed the connection or sent no valid answer: ``RemoteProtocolError``;
- no answer in time: ``ReadTimeout``; any other failure once connected: ``ReadError``.
  The request may have arrived in all three cases.

Proxies from the environment are httpx's own business: it mounts its transports for
them, so only direct requests come here.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import certifi
import httpx

CONNECTIONS = 100  # at most this many open connections, as httpx's own default


@contextmanager
def _as_httpx(request: httpx.Request) -> Iterator[None]:
    """Raise aiohttp's failures as the httpx exception that means the same."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc), request=request) from exc
    except aiohttp.ServerTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc), request=request) from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ClientResponseError as exc:  # not a valid HTTP answer
        raise httpx.RemoteProtocolError(exc.message, request=request) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise httpx.ReadError(str(exc) or exc.__class__.__name__, request=request) from exc


class _Body(httpx.AsyncByteStream):
    """A response body read as it arrives; closing it gives the connection back."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx(self._request):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Requests through one aiohttp session, opened at the first request (in the running
    event loop) and closed with the transport."""

    def __init__(self, *, connections: int = CONNECTIONS) -> None:
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _opened(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._connections,
                    # the same certificate authorities as httpx's own transport
                    ssl=ssl.create_default_context(cafile=certifi.where()),
                ),
                auto_decompress=False,  # httpx decodes what the headers say
                skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"),
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps its own
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout: dict[str, float | None] = request.extensions.get("timeout", {})
        content = await request.aread()
        with _as_httpx(request):
            response = await self._opened().request(
                request.method,
                str(request.url),
                headers=list(request.headers.multi_items()),
                data=content or None,
                allow_redirects=False,  # httpx follows redirects itself, if asked to
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            extensions=_extensions(response),
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _extensions(response: aiohttp.ClientResponse) -> dict[str, Any]:
    version = f"HTTP/{response.version.major}.{response.version.minor}" if response.version else ""
    return {"http_version": version.encode(), "reason_phrase": (response.reason or "").encode()}
