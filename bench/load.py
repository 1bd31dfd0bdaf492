"""A lean HTTP/1.1 load generator, run in its own process so it never shares a core
with the server it measures.

It opens every connection before the clock starts (a burst of new connections overflows
the server's accept queue, and a connection stuck there stalls its request for a minute),
keeps them alive, and sends one request at a time on each. Open loop: latency is counted
from the moment a request was due, so a stalled server is not hidden by a stalled client.

Run: ``python -m bench.load URL [--rate R] [--connections N] < BODIES``, one
form-encoded body a line on stdin; a JSON summary goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from urllib.parse import urlsplit

TIMEOUT = 10.0


class _Connection(asyncio.Protocol):
    """One keep-alive connection; ``request`` sends and waits for the whole answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.need: int | None = None
        self.status = 0
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            self.status = int(head[9:12])
            at = head.find(b"\r\ncontent-length:")
            length = int(head[at + 17 : head.find(b"\r\n", at + 2)]) if at >= 0 else 0
            self.need = end + 4 + length
        if len(self.buffer) >= self.need:
            del self.buffer[: self.need]
            self.need = None
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(self.status)

    async def request(self, data: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await asyncio.wait_for(self.waiter, TIMEOUT)


def requests(url: str, bodies: list[bytes]) -> list[bytes]:
    parts = urlsplit(url)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
    ).encode()
    return [head + b"Content-Length: %d\r\n\r\n" % len(body) + body for body in bodies]


async def run(url: str, bodies: list[bytes], rate: float | None, connections: int) -> dict:
    """Send every body; closed loop on ``connections`` when ``rate`` is None."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    pool = []
    for _ in range(connections):  # one at a time: the accept queue never overflows
        _, protocol = await loop.create_connection(_Connection, parts.hostname, parts.port)
        pool.append(protocol)
    payloads = requests(url, bodies)
    queue: asyncio.Queue[tuple[int, float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    sent_at = [0.0] * len(payloads)  # time.monotonic(), comparable across processes
    counts = {"ok": 0, "failed": 0}

    async def worker(connection: _Connection) -> None:
        while (item := await queue.get()) is not None:
            index, due, payload = item
            sent = time.perf_counter()
            sent_at[index] = time.monotonic()
            try:
                status = await connection.request(payload)
            except (TimeoutError, ConnectionError):
                counts["failed"] += 1
                return
            counts["ok" if status < 300 else "failed"] += 1
            latencies.append((time.perf_counter() - (due or sent)) * 1000)

    workers = [asyncio.create_task(worker(connection)) for connection in pool]
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    begin = time.perf_counter()
    if rate is None:
        for index, payload in enumerate(payloads):
            queue.put_nowait((index, 0.0, payload))
    else:
        for index, payload in enumerate(payloads):
            due = begin + index / rate
            delay = due - time.perf_counter()
            if delay > 0.0005:
                await asyncio.sleep(delay)
            queue.put_nowait((index, due, payload))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    seconds = time.perf_counter() - begin
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    for connection in pool:
        if connection.transport is not None:
            connection.transport.close()
    return {
        "sent": len(payloads),
        "ok": counts["ok"],
        "failed": counts["failed"],
        "seconds": seconds,
        "client_cpu": used / seconds if seconds else 0.0,
        "latencies_ms": latencies,
        "sent_at": sent_at,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    bodies = [line for line in sys.stdin.buffer.read().split(b"\n") if line]
    result = asyncio.run(run(args.url, bodies, args.rate, args.connections))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
