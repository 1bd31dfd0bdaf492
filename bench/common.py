"""Shared pieces of the benchmarks: load generation, percentiles, BENCHMARKS.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client import Histogram

from bot.storage.embedded import EmbeddedRedis
from sandbox.telegram import TelegramEmulator

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "BENCHMARKS.md"


@asynccontextmanager
async def redis_server(workdir: Path) -> AsyncIterator[str]:
    """``REDIS_URL`` when set (it should be an empty database), else an embedded server."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    embedded = EmbeddedRedis(workdir / "redis")
    await embedded.start()
    try:
        yield embedded.url
    finally:
        await embedded.stop()


class _StampedList(list[tuple[str, dict[str, Any]]]):
    """The emulator's request log, with the moment each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, item: tuple[str, dict[str, Any]]) -> None:
        self.times.append(time.monotonic())
        super().append(item)


class StampedEmulator(TelegramEmulator):
    """The Telegram emulator, also noting when each Bot API request arrived
    (``time.monotonic()``, comparable across processes).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stamped = _StampedList()
        self._ctx.state.requests = self._stamped

    def stamped(self, *methods: str) -> list[tuple[float, str, dict[str, Any]]]:
        """(arrival, method, params) of every request to one of ``methods``."""
        log = self._stamped
        return [
            (at, method, params)
            for at, (method, params) in zip(log.times, log, strict=True)
            if method in methods
        ]


def histogram_counts(histogram: Histogram) -> dict[str, float]:
    """Cumulative count per bucket bound (``le``), plus ``count`` and ``sum``."""
    counts: dict[str, float] = {}
    for metric in histogram.collect():
        for sample in metric.samples:
            if sample.name.endswith("_bucket") and sample.labels["le"] != "+Inf":
                counts[sample.labels["le"]] = sample.value
            elif sample.name.endswith("_count"):
                counts["count"] = sample.value
            elif sample.name.endswith("_sum"):
                counts["sum"] = sample.value
    return counts


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
    """What one run of :mod:`bench.load` measured."""

    sent: int
    ok: int
    failed: int
    seconds: float
    client_cpu: float  # share of one core the load generator used
    latencies_ms: list[float]
    sent_at: list[float] = field(default_factory=list)  # time.monotonic() of each request

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def summary(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"{self.ok}/{self.sent} ok{failed} in {self.seconds:.1f}s = {self.rate:.0f}/s, "
            f"p50 {self.p(50):.2f} ms, p99 {self.p(99):.2f} ms "
            f"(load generator at {self.client_cpu:.0%} of its core)"
        )


def merge(results: list[LoadResult]) -> LoadResult:
    """Several runs as one: counts and time added up, latencies pooled."""
    seconds = sum(r.seconds for r in results)
    return LoadResult(
        sum(r.sent for r in results),
        sum(r.ok for r in results),
        sum(r.failed for r in results),
        seconds,
        sum(r.client_cpu * r.seconds for r in results) / seconds if seconds else 0.0,
        [value for r in results for value in r.latencies_ms],
    )


async def post_load(
    url: str,
    bodies: list[bytes],
    *,
    rate: float | None,
    connections: int = 32,
    core: int | None = 1,
) -> LoadResult:
    """POST form-encoded ``bodies`` from a separate :mod:`bench.load` process on ``core``;
    open loop at ``rate``/s, or closed loop on ``connections`` as fast as possible.
    """
    args = [sys.executable, "-m", "bench.load", url, "--connections", str(connections)]
    if rate is not None:
        args += ["--rate", str(rate)]
    process = await asyncio.create_subprocess_exec(
        *_pinned(args, core), stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT
    )
    out, _ = await process.communicate(b"\n".join(bodies) + b"\n")
    if process.returncode != 0:
        raise RuntimeError(f"load generator failed with exit code {process.returncode}")
    data = json.loads(out)
    return LoadResult(
        data["sent"],
        data["ok"],
        data["failed"],
        data["seconds"],
        data["client_cpu"],
        data["latencies_ms"],
        data["sent_at"],
    )


def _pinned(args: list[str], core: int | None) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return args
    return ["taskset", "-c", str(core), *args]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far; 0 where /proc is missing.

    Summed over its threads from ``schedstat`` (nanoseconds) where the kernel keeps it:
    ``stat`` counts in clock ticks (10 ms), too coarse for a second of idle polling."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        return sum(int((task / "schedstat").read_text().split()[0]) for task in tasks) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin_self(core: int) -> None:
    """Keep this process (and what it starts later) off the core under test."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
        os.sched_setaffinity(0, {core})


def spawn(
    args: list[str],
    env: dict[str, str],
    log: Path,
    core: int | None = 0,
    cwd: Path = ROOT,
) -> subprocess.Popen[bytes]:
    """Start a process pinned to ``core`` in ``cwd`` (another checkout runs its own code);
    its output goes to ``log``.

    Never to a pipe nobody reads: a full pipe would freeze the process mid-benchmark.
    """
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
            _pinned(args, core),
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )


def stop(process: subprocess.Popen[bytes], patience: float = 15) -> None:
    """SIGTERM, then SIGKILL if it does not exit within ``patience`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(patience)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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


def machine_description() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip() + ", "
                break
    return (
        f"{model}{os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {sys.version.split()[0]}"
    )


def record(section: str, lines: list[str], figures: dict[str, float]) -> None:
    """Replace ``section`` in BENCHMARKS.md with today's figures."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = machine_description()
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
