"""The baseline the ingest benchmark compares against: a bare aiohttp handler that only
checks the MANGO signature and XADDs the raw JSON. Run as a script: PORT REDIS_URL KEY SALT.
"""

from __future__ import annotations

import hashlib
import hmac
import sys
from urllib.parse import parse_qs

from aiohttp import web
from redis.asyncio import Redis


def main() -> None:
    port, redis_url, key, salt = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    redis: Redis = Redis.from_url(redis_url)

    async def handle(request: web.Request) -> web.Response:
        form = parse_qs((await request.read()).decode())
        text = form["json"][0]
        expected = hashlib.sha256((key + text + salt).encode()).hexdigest()
        if not hmac.compare_digest(expected, form["sign"][0]):
            return web.json_response({}, status=403)
        await redis.xadd("bench:baseline", {"event": text})
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/pbx/{account}/events/call", handle)
    web.run_app(app, host="127.0.0.1", port=int(port), print=None, access_log=None)


if __name__ == "__main__":
    main()
