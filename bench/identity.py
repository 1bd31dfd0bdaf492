"""Caller identity benchmark: the ringing card's latency, from a MANGO webhook POST to the
Bot API receiving that card, with the caller's identity and context line against the
same run without them (a ratio, so the machine's noise cancels out).

Run: ``uv run python -m bench.identity`` (figures go to BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from limits import RateLimitItemPerSecond
from redis.asyncio import Redis

from bench.common import StampedEmulator, percentile, post_load, record, redis_server
from bot.app import Tuning, running
from bot.config import Settings
from bot.domain import Role
from bot.pbx.mango.signing import signed_form
from bot.telegram.sender import SendLimits
from sandbox.mango import Contact, Employee, Line, MangoLimits, MangoSimulator
from sandbox.telegram import Limits

KEY, SALT = "bench-key", "bench-salt"
LINE = "74950000000"
FIRST_USER = 600_000
SECTION = "Caller identity (ringing card with name and context vs without)"
ADDRESS_BOOK_MS = 50.0
P99_RATIO_GOAL = 1.2
CLIENT = re.compile(r"\+7 900 (\d{3})-(\d{2})-(\d{2})")  # the caller, numbered by call


def extension(chat: int) -> str:
    return str(1000 + chat)


def caller(index: int) -> str:
    return f"7900{index:07d}"


def leg(run: str, index: int, chats: int) -> bytes:
    """A ringing leg of a new inbound call from caller ``index``."""
    payload = {
        "entry_id": f"{run}-{index}",
        "call_id": f"{run}-{index}-1",
        "timestamp": int(time.time()),
        "seq": 1,
        "call_state": "Appeared",
        "location": "abonent",
        "from": {"number": caller(index)},
        "to": {"extension": extension(index % chats), "number": LINE, "line_number": LINE},
    }
    return urlencode(signed_form(KEY, SALT, payload)).encode()


async def one_run(
    *, identify: bool, rate: float, count: int, chats: int, workdir: Path
) -> tuple[list[float], list[float]]:
    """Latencies (ms) of the measured calls' first cards, and of their named edits."""
    async with (
        redis_server(workdir / ("on" if identify else "off")) as redis_url,
        StampedEmulator(limits=Limits.disabled()) as emulator,
        MangoSimulator(KEY, SALT, limits=MangoLimits.disabled(), step_delay=0.0) as mango,
    ):
        mango.add_line(Line(number=LINE, name="Main line"))
        for chat in range(chats):
            mango.add_employee(Employee(extension=extension(chat), name=f"Operator {chat}"))
            emulator.add_user(FIRST_USER + chat, f"Operator {chat}", language_code="en")
        for number in range(count):
            mango.add_contact(Contact(name=f"Client {number}", phones=[f"+{caller(number)}"]))
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
        tuning = Tuning(
            send_limits=SendLimits(global_limit=RateLimitItemPerSecond(400)), identify=identify
        )
        async with running(settings, web_role=True, worker_role=True, tuning=tuning) as app:
            for chat in range(chats):
                await app.access.link("main", extension(chat), FIRST_USER + chat, Role.REP)
            # Each caller called once before (a finished call in the log: the context);
            # what those calls looked up is forgotten, so every measured call asks again.
            for number in range(count):
                await mango.play_inbound(
                    LINE, caller(number), ring=[extension(number % chats)], record=False
                )
            await mango.wait_idle()
            await _quiet(app.redis, app)
            for number in range(count):
                await app.redis.delete(app.keys.caller_identity("main", f"+{caller(number)}"))
            # Every look-up of the measured calls takes the address book this long.
            mango.stall_next("ab/contact/init", ADDRESS_BOOK_MS / 1000, times=count, carry_out=True)
            url = f"{app.web_url}/pbx/main/events/call"
            bodies = [leg("m", index, chats) for index in range(count)]
            before = len(emulator.stamped("sendMessage", "editMessageText"))
            load = await post_load(url, bodies, rate=rate, connections=8, core=None)
            await asyncio.sleep(3)
            await _quiet(app.redis, app)
            stamped = emulator.stamped("sendMessage", "editMessageText")[before:]
    return _latencies(stamped, load.sent_at)


def _latencies(
    stamped: list[tuple[float, str, dict[str, Any]]], sent_at: list[float]
) -> tuple[list[float], list[float]]:
    """Each call's first card (sendMessage with its caller's number; call ``i`` is the
    only one from caller ``i``) and the first message naming its caller."""
    first: dict[int, float] = {}
    named: dict[int, float] = {}
    for at, method, params in stamped:
        found = CLIENT.search(str(params.get("text", "")))
        if found is None:
            continue
        index = int("".join(found.groups()))
        if method == "sendMessage":
            first.setdefault(index, at)
        if f"Client {index}" in str(params.get("text", "")):
            named.setdefault(index, at)
    firsts = [(first[i] - sent_at[i]) * 1000 for i in sorted(first) if i < len(sent_at)]
    names = [(named[i] - sent_at[i]) * 1000 for i in sorted(named) if i < len(sent_at)]
    return firsts, names


async def _quiet(redis: Redis, app: Any) -> None:
    """Until the pipeline has nothing left to do (events, messages, look-ups)."""
    streams = [(app.keys.events_stream(), "workers")] + [
        (stream, "senders") for stream in app.outbox.streams()
    ]
    quiet = 0
    deadline = time.monotonic() + 120
    while quiet < 5 and time.monotonic() < deadline:
        busy = app.worker.identifier.pending if app.worker.identifier else 0
        for stream, group in streams:
            for info in await redis.xinfo_groups(stream):
                if info["name"] == group:
                    busy += int(info["pending"]) + int(info.get("lag") or 0)
        quiet = quiet + 1 if busy == 0 else 0
        await asyncio.sleep(0.1)


async def main(rate: float, seconds: float, chats: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="pbxgram-bench-"))
    count = int(rate * seconds)
    runs: dict[bool, tuple[list[float], list[float]]] = {}
    for identify in (False, True):
        print(f"identity {'on' if identify else 'off'}: {count} calls", file=sys.stderr)
        runs[identify] = await one_run(
            identify=identify, rate=rate, count=count, chats=chats, workdir=workdir
        )
    (off, _), (on, named) = runs[False], runs[True]
    figures = {
        "rate_per_s": rate,
        "calls": count,
        "address_book_ms": ADDRESS_BOOK_MS,
        "without_p50_ms": round(percentile(off, 50), 2),
        "without_p99_ms": round(percentile(off, 99), 2),
        "with_p50_ms": round(percentile(on, 50), 2),
        "with_p99_ms": round(percentile(on, 99), 2),
        "p50_ratio": round(percentile(on, 50) / percentile(off, 50), 3),
        "p99_ratio": round(percentile(on, 99) / percentile(off, 99), 3),
        "named_p50_ms": round(percentile(named, 50), 2),
        "named_p99_ms": round(percentile(named, 99), 2),
        "cards_without": len(off),
        "cards_with": len(on),
        "named": len(named),
    }
    met = figures["p99_ratio"] <= P99_RATIO_GOAL and len(on) == count == len(off)
    record(
        SECTION,
        [
            "Method: the real app in one process against the Telegram emulator (flood limits",
            f"off) and the MANGO simulator, run twice in a row, the same way: {chats} reps,",
            f"{count} clients, each of whom called once before (a finished call in the log),",
            f"then one new inbound call from each, open loop at {rate:.0f}/s. Once without",
            "identity (the baseline), once with it: the address book knows every client and",
            f"answers each look-up in {ADDRESS_BOOK_MS:.0f} ms, the context line is read from",
            "the log. Latency: from the POST to the Bot API receiving the call's first card",
            "(the ringing card, which never waits for the look-up); the named edit apart.",
            "",
            f"- ringing card without identity: p50 {figures['without_p50_ms']} ms,"
            f" p99 {figures['without_p99_ms']} ms ({len(off)} cards)",
            f"- ringing card with identity and context: p50 {figures['with_p50_ms']} ms,"
            f" p99 {figures['with_p99_ms']} ms ({len(on)} cards)",
            f"- ratio with/without: p50 {figures['p50_ratio']}, p99 {figures['p99_ratio']}",
            f"- the card edited with the client's name: p50 {figures['named_p50_ms']} ms,"
            f" p99 {figures['named_p99_ms']} ms after the POST ({len(named)} of {len(on)})",
            "",
            f"Goal: p99 with identity within {P99_RATIO_GOAL}× the p99 without:"
            f" **{'met' if met else 'not met'}**.",
        ],
        figures,
    )
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=8)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--chats", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(main(args.rate, args.seconds, args.chats))
    print(json.dumps(result, indent=2))
