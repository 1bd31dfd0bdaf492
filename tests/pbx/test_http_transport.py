"""The PBX client's transport: what reaches the server is what httpx would send, answers
come back as httpx answers, and every failure keeps its meaning for ``transport_error``
(did the request possibly reach the PBX?)."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web

from bot.pbx.errors import NoAnswer, PbxUnavailable, transport_error
from bot.pbx.http_transport import AiohttpTransport

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def raw_server(
    on_request: Callable[[asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[str]:
    """A TCP server that reads a request's head, then does ``on_request``."""

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await on_request(writer)

    server = await asyncio.start_server(connected, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def client(timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, transport=AiohttpTransport())


async def test_a_form_post_arrives_as_httpx_sends_it_and_its_answer_comes_back() -> None:
    seen: list[tuple[dict[str, str], bytes]] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        return web.json_response({"result": 1000}, headers={"X-Req": "7"})

    form = {"vpbx_api_key": "key", "sign": "ab" * 32, "json": '{"command_id": "é"}'}
    async with serving(echo) as url, client() as http:
        response = await http.post(f"{url}/vpbx/commands/callback", data=form)
        expected = http.build_request("POST", f"{url}/vpbx/commands/callback", data=form)
    assert response.status_code == 200
    assert response.json() == {"result": 1000}
    assert response.headers["X-Req"] == "7"
    assert response.http_version == "HTTP/1.1"
    headers, body = seen[0]
    assert body == expected.read()
    for name in ("Content-Type", "Content-Length", "User-Agent", "Accept", "Host"):
        assert headers[name] == expected.headers[name], name


async def test_a_compressed_answer_is_read_decoded() -> None:
    payload = json.dumps({"data": ["x" * 100] * 50}).encode()

    async def zipped(request: web.Request) -> web.Response:
        assert "gzip" in request.headers["Accept-Encoding"]
        return web.Response(
            body=gzip.compress(payload),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    async with serving(zipped) as url, client() as http:
        response = await http.get(url)
    assert response.content == payload


async def test_a_large_download_streams_in_pieces() -> None:
    audio = bytes(range(256)) * 20_000  # about 5 MB

    async def download(request: web.Request) -> web.StreamResponse:
        answer = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        await answer.prepare(request)
        for start in range(0, len(audio), 100_000):
            await answer.write(audio[start : start + 100_000])
        await answer.write_eof()
        return answer

    async with (
        serving(download) as url,
        client() as http,
        http.stream("GET", f"{url}/recording") as response,
    ):
        chunks = [chunk async for chunk in response.aiter_bytes(64 * 1024)]
    assert b"".join(chunks) == audio
    assert len(chunks) > 1


async def test_a_redirect_is_answered_not_followed() -> None:
    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/elsewhere"})

    async with serving(moved) as url, client() as http:
        response = await http.get(url)
    assert response.status_code == 302


async def test_no_server_means_the_request_never_left() -> None:
    async with client() as http:
        with pytest.raises(httpx.ConnectError) as caught:
            await http.post(f"http://127.0.0.1:{unused_port()}/x", data={"a": "b"})
    assert type(transport_error("call", caught.value)) is PbxUnavailable


async def test_a_dropped_connection_may_have_taken_the_request() -> None:
    async def drop(writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with raw_server(drop) as url, client() as http:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await http.post(f"{url}/x", data={"a": "b"})
    assert isinstance(transport_error("call", caught.value), NoAnswer)


async def test_no_answer_in_time_is_a_read_timeout() -> None:
    async def stall(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3)
        writer.close()

    async with raw_server(stall) as url, client(timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout) as caught:
            await http.post(f"{url}/x", data={"a": "b"})
    assert isinstance(transport_error("call", caught.value), NoAnswer)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"NOT HTTP AT ALL\r\n\r\n", id="not HTTP"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a little", id="cut short"
        ),
    ],
)
async def test_a_broken_answer_may_have_taken_the_request(answer: bytes) -> None:
    async def broken(writer: asyncio.StreamWriter) -> None:
        writer.write(answer)
        await writer.drain()
        writer.close()

    async with raw_server(broken) as url, client() as http:
        with pytest.raises(httpx.TransportError) as caught:
            await http.get(url)
    assert isinstance(caught.value, httpx.RemoteProtocolError | httpx.ReadError)
    assert isinstance(transport_error("call", caught.value), NoAnswer)
