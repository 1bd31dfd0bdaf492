"""The baseline the cost benchmark compares against: the least a webhook-to-Telegram
pipeline can do. An aiohttp handler checks MANGO's signature and XADDs the raw JSON; one
consumer reads the stream (XREADGROUP, blocking), renders a line with jinja2, POSTs
sendMessage and XACKs.

Run as a script: PORT REDIS_URL KEY SALT BOT_API_URL CHAT_ID (BOT_API_URL with the token:
``http://host:port/bot<token>``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import sys
from collections.abc import AsyncIterator
from typing import cast
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from jinja2 import Template
from redis.asyncio import Redis

STREAM, GROUP = "baseline:events", "workers"
TEXT = Template("📞 {{ state }} {{ number }} → {{ extension }}", autoescape=True)


def main() -> None:
    port, redis_url, key, salt, bot_api, chat = sys.argv[1:7]
    redis: Redis = Redis.from_url(redis_url)

    async def handle(request: web.Request) -> web.Response:
        form = parse_qs((await request.read()).decode())
        text = form.get("json", [""])[0]
        expected = hashlib.sha256((key + text + salt).encode()).hexdigest()
        if not hmac.compare_digest(expected, form.get("sign", [""])[0]):
            return web.json_response({}, status=403)
        await redis.xadd(STREAM, {"event": text})
        return web.json_response({})

    async def consumer(app: web.Application) -> AsyncIterator[None]:
        with contextlib.suppress(Exception):
            await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        task = asyncio.create_task(consume(redis, bot_api, int(chat)))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app = web.Application()
    app.router.add_post("/pbx/{account}/events/{kind}", handle)
    app.router.add_post("/pbx/{account}/result/{kind:.*}", handle)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(consumer)
    web.run_app(app, host="127.0.0.1", port=int(port), print=None, access_log=None)


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def consume(redis: Redis, bot_api: str, chat: int) -> None:
    """Read, render, send, acknowledge: one Telegram message per event."""
    async with aiohttp.ClientSession() as http:
        while True:
            read = await redis.xreadgroup(GROUP, "c1", {STREAM: ">"}, count=100, block=1000)
            batches = cast("list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]", read)
            for _, entries in batches or []:
                for entry_id, fields in entries:
                    event = json.loads(fields[b"event"])
                    text = TEXT.render(
                        state=event.get("call_state") or event.get("recording_state") or "…",
                        number=(event.get("from") or {}).get("number", ""),
                        extension=(event.get("to") or {}).get("extension", ""),
                    )
                    payload = {"chat_id": chat, "text": text}
                    async with http.post(f"{bot_api}/sendMessage", json=payload) as response:
                        await response.read()
                    await redis.xack(STREAM, GROUP, entry_id)


if __name__ == "__main__":
    main()
