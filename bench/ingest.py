"""Ingest benchmark: signed MANGO events posted to ``pbxgram web`` pinned to one core,
against a bare verify-and-XADD aiohttp handler measured in the same run.

Run: ``python3 -m uv run python -m bench.ingest`` (figures go to BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from bench.common import LoadResult, free_port, post_load, record, spawn, wait_http
from bot.pbx.mango.signing import sign
from bot.sandbox.telegram import Limits, TelegramEmulator
from bot.storage.embedded import EmbeddedRedis

KEY, SALT = "bench-key", "bench-salt"


def bodies(count: int) -> list[bytes]:
    result = []
    for index in range(count):
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


async def measure(url: str, burst: int, paced: int, rate: float) -> tuple[LoadResult, LoadResult]:
    print(f"measuring {url}", file=sys.stderr, flush=True)
    await post_load(url, bodies(500), rate=None)  # warm up
    sustained = await post_load(url, bodies(burst), rate=None, concurrency=32)
    at_rate = await post_load(url, bodies(paced), rate=rate, concurrency=256)
    return sustained, at_rate


async def main(burst: int, paced: int, rate: float) -> dict[str, float]:
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
    processes = []
    try:
        async with TelegramEmulator(limits=Limits.disabled()) as emulator:
            base_port, web_port = free_port(), free_port()
            script = [sys.executable, "-m", "bench.baseline_ingest"]
            baseline = spawn([*script, str(base_port), redis_url, KEY, SALT], {})
            processes.append(baseline)
            await wait_http(f"http://127.0.0.1:{base_port}/nothing")
            base = await measure(
                f"http://127.0.0.1:{base_port}/pbx/main/events/call", burst, paced, rate
            )
            web = spawn(
                [sys.executable, "-m", "bot", "web"],
                {
                    "BOT_TOKEN": emulator.token,
                    "TELEGRAM_API_URL": emulator.base_url,
                    "REDIS_URL": redis_url,
                    "WEB_PORT": str(web_port),
                    "PBXGRAM_CONFIG": str(config),
                    "LOG_LEVEL": "WARNING",
                },
            )
            processes.append(web)
            await wait_http(f"http://127.0.0.1:{web_port}/healthz")
            ours = await measure(
                f"http://127.0.0.1:{web_port}/pbx/main/events/call", burst, paced, rate
            )
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        if embedded is not None:
            await embedded.stop()
    figures = {
        "baseline_events_per_s": round(base[0].rate),
        "pbxgram_events_per_s": round(ours[0].rate),
        "throughput_ratio": round(ours[0].rate / base[0].rate, 3),
        "rate_target_per_s": rate,
        "baseline_ack_p99_ms": round(base[1].p(99), 2),
        "pbxgram_ack_p50_ms": round(ours[1].p(50), 2),
        "pbxgram_ack_p99_ms": round(ours[1].p(99), 2),
        "pbxgram_achieved_rate_per_s": round(ours[1].rate),
    }
    record(
        "Ingest (MANGO events/call → events stream)",
        [
            "Signed `events/call` posts to `pbxgram web` pinned to one core (taskset), and to a",
            "bare aiohttp handler that only verifies the signature and XADDs (the baseline),",
            "pinned the same way, in the same run. Load comes from the other core.",
            "",
            f"- baseline, as fast as possible: {base[0].summary()}",
            f"- pbxgram, as fast as possible: {ours[0].summary()}",
            f"- throughput ratio pbxgram / baseline: **{figures['throughput_ratio']}**"
            " (goal ≥ 0.7)",
            f"- baseline at {rate:.0f}/s: {base[1].summary()}",
            f"- pbxgram at {rate:.0f}/s: {ours[1].summary()} (goal: p99 ≤ 10 ms)",
        ],
        figures,
    )
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", type=int, default=20000)
    parser.add_argument("--paced", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=2000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.burst, args.paced, args.rate)), indent=2))
