"""A worker killed with SIGKILL while it sends the callback ladder's reminders: another
worker takes the ladder over, and every reminder reaches Telegram exactly once.

Thirty open missed calls are stored with their deadline just passed, before any worker
runs. The first ``python -m bot worker`` takes the ladder's lease and sends their
reminders at once; it cannot reach Telegram (its TELEGRAM_API_URL leads nowhere), so what
it queued waits in Redis, and it is killed the moment its first reminder is queued, in
the middle of the round. A second worker, which reaches the Telegram emulator, takes the
lease over once it expires and finishes the round; each reminder is one outbox slot, so a
round done twice sends nothing twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from bot.config import Settings
from bot.domain import Role
from bot.pbx.providers import Providers
from bot.services.access import Access
from bot.services.missed_calls import MissedCall, MissedCalls
from bot.storage import Keys, Repositories
from sandbox.telegram import Limits, TelegramEmulator
from tests.conftest import MANGO_ACCOUNT
from tests.reliability.figures import record
from tests.reliability.test_worker_crash import start_worker, worker_env

CALLS = 30
REPS = 10
FIRST_REP = 7_000
PATIENCE = 120.0  # generous: other test runs may share the machine's two cores


def rep_of(index: int) -> int:
    return FIRST_REP + index % REPS


async def store_overdue_calls(redis: Redis, redis_url: str, emulator: TelegramEmulator) -> None:
    """Reps linked, and their missed calls open with the deadline a second ago."""
    settings = Settings(redis_url=redis_url, accounts=[{**MANGO_ACCOUNT}])
    access = Access(Repositories.over(redis), settings, Providers({}))
    for chat in range(FIRST_REP, FIRST_REP + REPS):
        emulator.add_user(chat, f"Rep{chat}", language_code="en")
        await access.link("main", str(chat), chat, Role.REP)
    missed = MissedCalls(redis, Keys())
    now = datetime.now(UTC)
    for index in range(CALLS):
        call = MissedCall(
            account="main",
            call_id=f"ladder-{index}",
            client_number=f"+7900111{index:04d}",
            at=now - timedelta(minutes=15, seconds=1),
            rang=[str(rep_of(index))],
            copies=[(rep_of(index), f"missed:ladder-{index}:{rep_of(index)}")],
            remind_at=now - timedelta(seconds=1),
        )
        await missed.save(call)


def with_deadline(config: Path) -> None:
    """The account's missed calls must be called back within 15 minutes."""
    config.write_text(config.read_text() + 'callback_within = "15m"\n', encoding="utf-8")


def reminders(emulator: TelegramEmulator) -> Counter[tuple[int, str]]:
    """(chat, client) of every reminder Telegram shows, counted."""
    found: Counter[tuple[int, str]] = Counter()
    for chat in range(FIRST_REP, FIRST_REP + REPS):
        for message in emulator.bot_messages(chat):
            if message.text.startswith("⏰"):
                client = message.text.split(": ", 1)[1].split(",", 1)[0]
                found[(chat, client)] += 1
    return found


async def test_a_worker_killed_mid_round_sends_no_reminder_twice(
    redis_url: str, redis: Redis, tmp_path: Path
) -> None:
    async with TelegramEmulator(limits=Limits.disabled()) as emulator:
        await store_overdue_calls(redis, redis_url, emulator)
        env = worker_env(emulator, redis_url, tmp_path)
        with_deadline(Path(env["PBXGRAM_CONFIG"]))
        nowhere = {**env, "TELEGRAM_API_URL": "http://127.0.0.1:9"}
        keys = Keys()

        first = await start_worker(nowhere, tmp_path / "first-worker.log")
        began = time.monotonic()
        queued: list[str] = []
        while not queued:  # polled every millisecond: the kill lands mid-round
            assert time.monotonic() - began < PATIENCE, first.log_text()
            queued = [str(k) async for k in redis.scan_iter(match=keys.slot("remind:*"))]
            if not queued:
                await asyncio.sleep(0.001)
        first.process.kill()
        await first.process.wait()
        done_by_first = CALLS - int(await redis.zcard(keys.missed_due()))
        # The replica that takes over is started once the dead worker's lease has expired
        # (a running one would find it free within a round of the ladder, 15 s later).
        while await redis.exists(keys.job_lease("callback-ladder")):
            assert time.monotonic() - began < PATIENCE
            await asyncio.sleep(0.1)

        second = await start_worker(env, tmp_path / "second-worker.log")
        try:
            wanted = Counter(
                {(rep_of(i), f"+7 900 111-{i // 100:02d}-{i % 100:02d}"): 1 for i in range(CALLS)}
            )
            deadline = time.monotonic() + PATIENCE
            while reminders(emulator) != wanted:
                assert time.monotonic() < deadline, (reminders(emulator), second.log_text())
                await asyncio.sleep(0.1)
            took = time.monotonic() - began
            await asyncio.sleep(1.0)  # nothing more comes
            assert reminders(emulator) == wanted
            assert await redis.zcard(keys.missed_due()) == 0
        finally:
            second.process.terminate()
            await second.process.wait()
    record(
        "Callback ladder: a worker killed mid-round",
        f"{CALLS} open missed calls past their deadline; the worker running the ladder "
        "(which could not reach Telegram) was killed with SIGKILL the moment its first "
        "reminder was queued; a second worker took the ladder over when its lease expired",
        "every reminder reaches Telegram exactly once",
        {
            "reminders": CALLS,
            "rounds noted done by the killed worker": done_by_first,
            "doubled": 0,
            "lost": 0,
            "all delivered": f"{took:.1f} s after the first worker started",
        },
    )
