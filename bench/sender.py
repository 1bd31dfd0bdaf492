"""Sender benchmark: how close the outbox sender comes to the configured global rate
against the Telegram emulator enforcing Telegram's flood limits, and whether it ever
gets a 429.

Run: ``uv run python -m bench.sender`` (figures go to BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import StampedEmulator, record, redis_server
from bot.app import running
from bot.config import Settings
from bot.telegram.outbox import OutMessage, Priority
from sandbox.telegram import Limits

FIRST_USER = 700_000
SECTION = "Sender (outbox → Telegram, flood limits enforced)"
GOAL = 0.95


async def main(global_rate: int, chats: int, per_chat: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="pbxgram-bench-"))
    count = chats * per_chat
    async with (
        redis_server(workdir) as redis_url,
        StampedEmulator(limits=Limits()) as emulator,
    ):
        for chat in range(chats):
            emulator.add_user(FIRST_USER + chat, f"Person {chat}", language_code="en")
        settings = Settings(
            bot_token=emulator.token,
            telegram_api_url=emulator.base_url,
            redis_url=redis_url,
            telegram_global_rate=global_rate,
            pbxgram_data_dir=workdir / "data",
            log_level="WARNING",
        )
        async with running(settings, web_role=False, worker_role=True) as app:
            print(f"queueing {count} messages to {chats} chats", file=sys.stderr, flush=True)
            for round_ in range(per_chat):
                for chat in range(chats):
                    await app.outbox.put(
                        f"bench:{chat}:{round_}",
                        OutMessage(chat_id=FIRST_USER + chat, text=f"message {round_}"),
                        Priority.SUMMARY,
                    )
            deadline = time.monotonic() + count / global_rate * 3 + 30
            while time.monotonic() < deadline:
                if len(emulator.stamped("sendMessage")) >= count:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # anything doubled would arrive now
    sends = [at for at, _, _ in emulator.stamped("sendMessage")]
    too_many = [f for f in emulator.failures if "Too Many Requests" in f[1]]
    return report(global_rate, chats, count, sends, len(too_many))


def busiest_second(times: list[float]) -> int:
    """The most requests in any one-second window."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def report(
    global_rate: int, chats: int, count: int, sends: list[float], too_many: int
) -> dict[str, Any]:
    sends.sort()
    span = sends[-1] - sends[0] if len(sends) > 1 else float("nan")
    # Sends come in bursts at the start of each second (a moving window frees its slots a
    # second after they were taken), so count whole seconds from the first send.
    whole = int(span) if len(sends) > 1 else 0
    steady_rate = sum(1 for at in sends if at < sends[0] + whole) / whole if whole else 0.0
    ratio = steady_rate / global_rate
    figures = {
        "global_limit_per_s": global_rate,
        "chats": chats,
        "queued": count,
        "sent": len(sends),
        "seconds": round(span, 2),
        "steady_rate_per_s": round(steady_rate, 2),
        "ratio_to_limit": round(ratio, 3),
        "busiest_second": busiest_second(sends),
        "answers_429": too_many,
    }
    met = ratio >= GOAL and too_many == 0 and len(sends) == count
    record(
        SECTION,
        [
            "Method: the real worker role (`running(...)`: outbox consumer and sender) in one",
            "process against the Telegram emulator enforcing Telegram's documented flood",
            "limits (30/s per bot, a burst of 3 then 1/s per chat, 20/min per group) and",
            f"counting 429 answers. {count} messages are queued at once, {count // chats} for",
            f"each of {chats} private chats; the sender's global limit is the configured",
            f"`TELEGRAM_GLOBAL_RATE` = {global_rate}/s. Rate: sendMessage requests the emulator",
            "received in the whole seconds from the first one, per second, divided by the",
            "configured limit.",
            "",
            f"- sent {len(sends)} of {count} in {span:.1f} s; {steady_rate:.2f}/s"
            f" = {ratio:.1%} of the limit; most in any one second: {figures['busiest_second']}",
            f"- 429 answers: {too_many}",
            "",
            f"Goal: ≥ {GOAL:.0%} of the configured limit with zero 429 answers:"
            f" **{'met' if met else 'not met'}**.",
        ],
        figures,
    )
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--global-rate", type=int, default=25)
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--per-chat", type=int, default=2)
    args = parser.parse_args()
    result = asyncio.run(main(args.global_rate, args.chats, args.per_chat))
    print(json.dumps(result, indent=2))
