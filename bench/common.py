"""Shared pieces of the benchmarks: load generation, percentiles, BENCHMARKS.md."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "BENCHMARKS.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class LoadResult:
    sent: int
    ok: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def summary(self) -> str:
        return (
            f"{self.ok}/{self.sent} ok in {self.seconds:.1f}s = {self.rate:.0f}/s, "
            f"p50 {self.p(50):.2f} ms, p99 {self.p(99):.2f} ms"
        )


async def post_load(
    url: str, bodies: list[bytes], *, rate: float | None, concurrency: int = 64
) -> LoadResult:
    """POST ``bodies`` (form-encoded); open loop at ``rate``/s, or as fast as possible."""
    latencies: list[float] = []
    ok = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with aiohttp.ClientSession(connector=connector) as session:
        slots = asyncio.Semaphore(concurrency)

        async def one(body: bytes) -> None:
            nonlocal ok
            async with slots:
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        ok += 1
                latencies.append((time.perf_counter() - started) * 1000)

        begin = time.perf_counter()
        tasks = []
        for index, body in enumerate(bodies):
            if rate is not None:
                due = begin + index / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body)))
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - begin
    return LoadResult(len(bodies), ok, seconds, latencies)


def spawn(args: list[str], env: dict[str, str], core: int | None = 0) -> subprocess.Popen[bytes]:
    """Start a process, pinned to one core when taskset is available."""
    command = [*(["taskset", "-c", str(core)] if core is not None else []), *args]
    return subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


async def wait_http(url: str, patience: float = 30) -> None:
    deadline = time.monotonic() + patience
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(url)


def record(section: str, lines: list[str], figures: dict[str, float]) -> None:
    """Replace ``section`` in BENCHMARKS.md with today's figures."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    block = [
        f"## {section}",
        "",
        f"Measured {stamp} on {machine}.",
        "",
        *lines,
        "",
        "```json",
        json.dumps(figures, indent=2, sort_keys=True),
        "```",
        "",
    ]
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmarks\n\n"
    start = text.find(f"## {section}\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + "\n".join(block)
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + "\n".join(block) + ("" if end == -1 else text[end:])
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
