"""Ingest benchmark: signed MANGO events posted to ``pbxgram web`` pinned to one core,
against a bare verify-and-XADD aiohttp handler measured in the same run.

Run: ``uv run python -m bench.ingest`` (figures go to BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.common import (
    LoadResult,
    cpu_seconds,
    free_port,
    merge,
    pin_self,
    post_load,
    record,
    spawn,
    stop,
    wait_http,
)
from bot.pbx.mango.signing import sign
from bot.storage.embedded import EmbeddedRedis
from sandbox.telegram import Limits, TelegramEmulator

KEY, SALT = "bench-key", "bench-salt"
SERVER_CORE, CLIENT_CORE = 0, 1
SECTION = "Ingest (MANGO events/call → events stream)"
RATIO_GOAL, P99_GOAL_MS = 0.7, 10.0


def bodies(count: int, start: int = 0) -> list[bytes]:
    """Signed ``events/call`` forms: four legs per call, distinct ids."""
    result = []
    for index in range(start, start + count):
        payload = {
            "entry_id": f"E{index // 4}",
            "call_id": f"L{index}",
            "timestamp": 1764000000 + index,
            "seq": 1,
            "call_state": "Appeared",
            "location": "abonent",
            "from": {"number": "79001234567"},
            "to": {"extension": "101", "number": "74950000000", "line_number": "74950000000"},
        }
        text = json.dumps(payload, separators=(",", ":"))
        form = {"vpbx_api_key": KEY, "sign": sign(KEY, text, SALT), "json": text}
        result.append(urlencode(form).encode())
    return result


@dataclass
class Run:
    """One server measured: as fast as possible, then at the target rate."""

    sustained: LoadResult
    at_rate: LoadResult
    sustained_cpu: float  # CPU seconds the server used during each
    at_rate_cpu: float

    @property
    def server_share(self) -> float:
        """Share of its core the server used while flat out."""
        return self.sustained_cpu / self.sustained.seconds


async def measure(url: str, pid: int, burst: int, paced: int, rate: float) -> Run:
    """Warm up, then as fast as possible (closed loop), then open loop at ``rate``/s."""
    print(f"measuring {url}", file=sys.stderr, flush=True)
    await post_load(url, bodies(1000), rate=None, core=CLIENT_CORE)
    cpu = cpu_seconds(pid)
    sustained = await post_load(url, bodies(burst), rate=None, connections=32, core=CLIENT_CORE)
    cpu, sustained_cpu = cpu_seconds(pid), cpu_seconds(pid) - cpu
    at_rate = await post_load(url, bodies(paced), rate=rate, connections=64, core=CLIENT_CORE)
    run = Run(sustained, at_rate, sustained_cpu, cpu_seconds(pid) - cpu)
    print(
        f"  burst: {sustained.summary()}, server at {run.server_share:.0%}, "
        f"{sustained_cpu / sustained.ok * 1e6:.0f} µs CPU/event\n"
        f"  paced: {at_rate.summary()}, {run.at_rate_cpu / at_rate.ok * 1e6:.0f} µs CPU/event",
        file=sys.stderr,
    )
    return run


async def main(burst: int, paced: int, rate: float, rounds: int) -> dict[str, float]:
    pin_self(CLIENT_CORE)  # this process, Redis and the load generator stay off core 0
    workdir = Path(tempfile.mkdtemp(prefix="pbxgram-bench-"))
    redis_url = os.environ.get("REDIS_URL")
    embedded = None
    if not redis_url:
        embedded = EmbeddedRedis(workdir / "redis")
        await embedded.start()
        redis_url = embedded.url
    config = workdir / "pbxgram.toml"
    config.write_text(
        f'[[accounts]]\nid = "main"\nprovider = "mango"\napi_key = "{KEY}"\napi_salt = "{SALT}"\n'
        'api_url = "http://127.0.0.1:9/vpbx/"\n',
        encoding="utf-8",
    )
    base_runs: list[Run] = []
    our_runs: list[Run] = []
    try:
        async with TelegramEmulator(limits=Limits.disabled()) as emulator:
            for _ in range(rounds):  # interleaved, so drift on the machine hits both alike
                port = free_port()
                script = [sys.executable, "-m", "bench.baseline_ingest"]
                baseline = spawn(
                    [*script, str(port), redis_url, KEY, SALT],
                    {},
                    workdir / "baseline.log",
                    core=SERVER_CORE,
                )
                try:
                    await wait_http(f"http://127.0.0.1:{port}/nothing")
                    url = f"http://127.0.0.1:{port}/pbx/main/events/call"
                    base_runs.append(await measure(url, baseline.pid, burst, paced, rate))
                finally:
                    stop(baseline)
                port = free_port()
                web = spawn(
                    [sys.executable, "-m", "bot", "web"],
                    {
                        "BOT_TOKEN": emulator.token,
                        "TELEGRAM_API_URL": emulator.base_url,
                        "REDIS_URL": redis_url,
                        "WEB_PORT": str(port),
                        "PBXGRAM_CONFIG": str(config),
                        "LOG_LEVEL": "WARNING",
                    },
                    workdir / "web.log",
                    core=SERVER_CORE,
                )
                try:
                    await wait_http(f"http://127.0.0.1:{port}/healthz")
                    url = f"http://127.0.0.1:{port}/pbx/main/events/call"
                    our_runs.append(await measure(url, web.pid, burst, paced, rate))
                finally:
                    stop(web)
    finally:
        if embedded is not None:
            await embedded.stop()
    base = merge([r.sustained for r in base_runs]), merge([r.at_rate for r in base_runs])
    ours = merge([r.sustained for r in our_runs]), merge([r.at_rate for r in our_runs])
    base_cpu = sum(r.server_share for r in base_runs) / len(base_runs)
    our_cpu = sum(r.server_share for r in our_runs) / len(our_runs)
    ratio = ours[0].rate / base[0].rate
    figures = {
        "baseline_events_per_s": round(base[0].rate),
        "pbxgram_events_per_s": round(ours[0].rate),
        "throughput_ratio": round(ratio, 3),
        "rate_target_per_s": rate,
        "baseline_ack_p50_ms": round(base[1].p(50), 2),
        "baseline_ack_p99_ms": round(base[1].p(99), 2),
        "pbxgram_ack_p50_ms": round(ours[1].p(50), 2),
        "pbxgram_ack_p99_ms": round(ours[1].p(99), 2),
        "pbxgram_achieved_rate_per_s": round(ours[1].rate),
        "baseline_server_cpu": round(base_cpu, 2),
        "pbxgram_server_cpu": round(our_cpu, 2),
        "failed_requests": sum(
            r.sustained.failed + r.at_rate.failed for r in (*base_runs, *our_runs)
        ),
    }
    ratio_met = ratio >= RATIO_GOAL
    p99_met = ours[1].p(99) <= P99_GOAL_MS and ours[1].failed == 0
    record(
        SECTION,
        [
            "Method: signed `events/call` posts (form-encoded, as MANGO sends them) to",
            "`pbxgram web` pinned to core 0 with taskset, and to a bare aiohttp handler that",
            "only verifies the signature and XADDs the raw JSON (`bench/baseline_ingest.py`,",
            "the baseline), pinned the same way. The load generator (`bench/load.py`) is a",
            "separate process on core 1 with Redis; it opens its keep-alive connections",
            "before the clock starts. Throughput: closed loop on 32 connections. Latency:",
            f"open loop at {rate:.0f}/s counted from when each request was due. {rounds}",
            f"rounds, baseline and pbxgram interleaved; {burst} + {paced} events each.",
            "",
            f"- baseline, as fast as possible: {base[0].summary()}; server at {base_cpu:.0%}"
            " of its core",
            f"- pbxgram, as fast as possible: {ours[0].summary()}; server at {our_cpu:.0%}"
            " of its core",
            f"- baseline at {rate:.0f}/s: {base[1].summary()}",
            f"- pbxgram at {rate:.0f}/s: {ours[1].summary()}",
            "",
            f"Goal: throughput ratio pbxgram / baseline ≥ {RATIO_GOAL}: "
            f"**{ratio:.2f}, {'met' if ratio_met else 'not met'}**.",
            f"Goal: ack p99 ≤ {P99_GOAL_MS:.0f} ms at {rate:.0f} events/s: "
            f"**{ours[1].p(99):.2f} ms, {'met' if p99_met else 'not met'}**.",
        ],
        figures,
    )
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", type=int, default=15000)
    parser.add_argument("--paced", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.burst, args.paced, args.rate, args.rounds)), indent=2))
