"""End-to-end benchmark: from a MANGO webhook POST to the Telegram request for that call
arriving at the Bot API, through the real app (web, event workers, outbox, sender).

Run: ``uv run python -m bench.e2e`` (figures go to BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from limits import RateLimitItemPerSecond

from bench.common import (
    StampedEmulator,
    histogram_counts,
    percentile,
    post_load,
    record,
    redis_server,
)
from bot.app import Tuning, running
from bot.config import Settings
from bot.domain import Role
from bot.pbx.mango.signing import signed_form
from bot.telegram.sender import Sender, SendLimits
from sandbox.mango import Employee, Line, MangoLimits, MangoSimulator
from sandbox.telegram import Limits

KEY, SALT = "bench-key", "bench-salt"
LINE = "74950000000"
FIRST_USER = 500_000
SECTION = "End to end (webhook POST → Telegram request)"
P50_GOAL_MS, P99_GOAL_MS = 10.0, 50.0
CLIENT = re.compile(r"\+7 900 (\d{3})-(\d{2})-(\d{2})")  # the caller, numbered by event


def extension(chat: int) -> str:
    return str(1000 + chat)


def leg(index: int, chats: int) -> bytes:
    """A ringing leg of a new inbound call to the ``index % chats``-th extension, from
    +7 900 <index>, so the card it produces can be told apart from every other.
    """
    payload = {
        "entry_id": f"bench-{index}",
        "call_id": f"bench-{index}-1",
        "timestamp": int(time.time()),
        "seq": 1,
        "call_state": "Appeared",
        "location": "abonent",
        "from": {"number": f"7900{index:07d}"},
        "to": {"extension": extension(index % chats), "number": LINE, "line_number": LINE},
    }
    return urlencode(signed_form(KEY, SALT, payload)).encode()


async def deliveries(
    emulator: StampedEmulator, expected: set[int], patience: float
) -> dict[int, float]:
    """Event index → when the Bot API received the request showing that call's card."""
    deadline = time.monotonic() + patience
    while True:
        seen: dict[int, float] = {}
        for at, _, params in emulator.stamped("sendMessage", "editMessageText"):
            found = CLIENT.search(str(params.get("text", "")))
            if found is not None:
                index = int("".join(found.groups()))
                if index in expected and index not in seen:
                    seen[index] = at
        if len(seen) == len(expected) or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.2)


async def main(rate: float, seconds: float, chats: int, global_rate: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="pbxgram-bench-"))
    count = int(rate * seconds)
    warm = chats  # one call per chat first: caches, connections, first messages
    async with (
        redis_server(workdir) as redis_url,
        StampedEmulator(limits=Limits.disabled()) as emulator,
        MangoSimulator(KEY, SALT, limits=MangoLimits.disabled()) as mango,
    ):
        mango.add_line(Line(number=LINE, name="Main line"))
        for chat in range(chats):
            mango.add_employee(Employee(extension=extension(chat), name=f"Operator {chat}"))
            emulator.add_user(FIRST_USER + chat, f"Operator {chat}", language_code="en")
        settings = Settings(
            bot_token=emulator.token,
            telegram_api_url=emulator.base_url,
            redis_url=redis_url,
            web_port=0,
            pbxgram_data_dir=workdir / "data",
            log_level="WARNING",
            accounts=[
                {
                    "id": "main",
                    "provider": "mango",
                    "api_key": KEY,
                    "api_salt": SALT,
                    "api_url": mango.base_url,
                }
            ],
        )
        tuning = Tuning(send_limits=SendLimits(global_limit=RateLimitItemPerSecond(global_rate)))
        async with running(settings, web_role=True, worker_role=True, tuning=tuning) as app:
            for chat in range(chats):
                await app.access.link("main", extension(chat), FIRST_USER + chat, Role.REP)
            url = f"{app.web_url}/pbx/main/events/call"
            bodies = [leg(index, chats) for index in range(warm + count)]
            print(f"warming up: {warm} calls", file=sys.stderr, flush=True)
            await post_load(url, bodies[:warm], rate=rate, connections=8, core=None)
            warmed = await deliveries(emulator, set(range(warm)), patience=30)
            if len(warmed) < warm:
                raise RuntimeError(f"only {len(warmed)} of {warm} warm-up cards arrived")
            waits_before = histogram_counts(app.metrics.telegram_wait)
            chat_waits = time_limiter_waits(app.sender)
            print(f"measuring: {count} calls at {rate:.0f}/s", file=sys.stderr, flush=True)
            cpu = time.process_time()
            load = await post_load(url, bodies[warm:], rate=rate, connections=16, core=None)
            cpu_share = (time.process_time() - cpu) / load.seconds
            print(f"app and emulator used {cpu_share:.0%} of a core", file=sys.stderr)
            arrived = await deliveries(emulator, set(range(warm, warm + count)), patience=60)
            waits_after = histogram_counts(app.metrics.telegram_wait)
    latencies = [(arrived[index] - load.sent_at[index - warm]) * 1000 for index in sorted(arrived)]
    # A chat's sends leave in order, so its k-th measured card waited its k-th limiter wait.
    own_waits = {chat: iter(chat_waits[FIRST_USER + chat]) for chat in range(chats)}
    without_waits = [
        (arrived[index] - load.sent_at[index - warm]) * 1000
        - next(own_waits[index % chats], 0.0) * 1000
        for index in sorted(arrived)
    ]
    waits = {le: waits_after[le] - waits_before.get(le, 0) for le in waits_after}
    return report(rate, count, chats, global_rate, load.summary(), latencies, without_waits, waits)


def time_limiter_waits(sender: Sender) -> dict[int, list[float]]:
    """From now on, note how long each send waited for the rate limits, per chat (s)."""
    waits: dict[int, list[float]] = defaultdict(list)
    wait_turn = sender._wait_turn

    async def timed(chat_id: int, *, edit: bool = False) -> None:
        started = time.monotonic()
        await wait_turn(chat_id, edit=edit)
        waits[chat_id].append(time.monotonic() - started)

    sender._wait_turn = timed  # type: ignore[method-assign]
    return waits


def report(
    rate: float,
    count: int,
    chats: int,
    global_rate: int,
    ack: str,
    latencies: list[float],
    without_waits: list[float],
    waits: dict[str, float],
) -> dict[str, Any]:
    p50, p99 = percentile(without_waits, 50), percentile(without_waits, 99)
    total = waits.pop("count", 0)
    wait_sum = waits.pop("sum", 0.0)
    shares = {le: (n / total if total else float("nan")) for le, n in waits.items()}
    figures = {
        "rate_per_s": rate,
        "events": count,
        "chats": chats,
        "delivered": len(latencies),
        "e2e_p50_ms": round(p50, 2),
        "e2e_p90_ms": round(percentile(without_waits, 90), 2),
        "e2e_p99_ms": round(p99, 2),
        "e2e_max_ms": round(max(without_waits, default=float("nan")), 2),
        "with_waits_p50_ms": round(percentile(latencies, 50), 2),
        "with_waits_p99_ms": round(percentile(latencies, 99), 2),
        "limiter_waits": int(total),
        "limiter_wait_mean_ms": round(wait_sum / total * 1000, 3) if total else None,
        "limiter_wait_share_le_1ms": round(shares.get("0.001", float("nan")), 3),
        "limiter_wait_share_le_10ms": round(shares.get("0.01", float("nan")), 3),
    }
    met = p50 <= P50_GOAL_MS and p99 <= P99_GOAL_MS and len(latencies) == count
    buckets = ", ".join(f"≤{float(le) * 1000:g} ms {share:.1%}" for le, share in shares.items())
    record(
        SECTION,
        [
            "Method: the real app (`running(...)`: web, event workers, outbox sender, long",
            "polling) in one process, against the Telegram emulator with its flood limits off",
            "and the MANGO simulator for the directory. The sender keeps Telegram's per-chat",
            f"limits; its global limit is raised to {global_rate}/s. {chats} users are linked",
            f"to {chats} extensions (each its own chat). A separate process posts signed",
            f"`events/call` Appeared legs, open loop at {rate:.0f}/s, round robin over the",
            f"extensions (each a new call, so each makes a new card): {count} measured after",
            f"{chats} for warm-up. Latency: from the moment the POST was written to the moment",
            "the emulator received the sendMessage carrying that call's card (both",
            "`time.monotonic()`), less the time that send waited for Telegram's rate limits",
            "(each chat gets a card a second, right at its limit, so some must wait); the",
            "waits themselves are reported apart, from",
            "`pbxgram_telegram_limiter_wait_seconds`, over the measured calls only.",
            "",
            f"- cards delivered: {len(latencies)} of {count}",
            f"- end to end, limiter waits excluded: p50 {p50:.2f} ms,"
            f" p90 {figures['e2e_p90_ms']:.2f} ms, p99 {p99:.2f} ms,"
            f" max {figures['e2e_max_ms']:.2f} ms",
            f"- end to end, limiter waits included: p50 {figures['with_waits_p50_ms']:.2f} ms,"
            f" p99 {figures['with_waits_p99_ms']:.2f} ms",
            f"- webhook acks: {ack}",
            f"- limiter waits: {int(total)}, mean {figures['limiter_wait_mean_ms']} ms; {buckets}",
            "",
            f"Goal: p50 ≤ {P50_GOAL_MS:.0f} ms and p99 ≤ {P99_GOAL_MS:.0f} ms at {rate:.0f}"
            f" events/s over {chats} chats, limiter waits apart:"
            f" **{'met' if met else 'not met'}**.",
        ],
        figures,
    )
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--global-rate", type=int, default=400)
    args = parser.parse_args()
    result = asyncio.run(main(args.rate, args.seconds, args.chats, args.global_rate))
    print(json.dumps(result, indent=2))
