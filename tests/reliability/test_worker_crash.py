"""A worker killed with SIGKILL in the middle of a burst of calls loses nothing, and doubles
nothing but what Telegram accepted in the instant before the kill.

The real ``python -m bot worker`` runs against this test's Redis and the Telegram emulator.
The burst is stored before the first worker starts; the worker is killed right after a
card reached Telegram, with events and outbox entries pending in its name; a second worker
takes them over (``WORKER_CLAIM_IDLE_SECONDS``) and finishes the burst.

The one send that can be doubled: Telegram accepted a message and the worker died before
storing its message id. The Bot API has no idempotency key, so the next worker cannot know
and sends again (at least once beats at most once for a call card). The test proves each
doubled card is such a send: the dead worker's ``sendMessage`` for it reached Telegram,
and Redis held no message id for its slot when the worker died.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from bot.config import Settings
from bot.domain import Role
from bot.events import CallLegEvent, CallSummaryEvent, Direction, LegState, Party
from bot.pbx.providers import Providers
from bot.pipeline.stream import EventStream
from bot.services.access import Access
from bot.storage import Keys, Repositories
from bot.telegram.outbox import Outbox
from sandbox.telegram import Limits, TelegramEmulator
from sandbox.telegram.models import ChatMessage
from tests.cli.helpers import OUR_VARIABLES, PROJECT_ROOT
from tests.conftest import MANGO_ACCOUNT
from tests.reliability.figures import record

CALLS = 1_000  # calls in the burst; each rings one rep, who answers
REPS = 500  # linked reps; call i rings rep i % REPS
EVENTS_PER_CALL = 4  # ringing, connected, disconnected, summary
KILL_AFTER_SENT = CALLS // 4  # cards Telegram accepted before the first worker is killed
CLAIM_IDLE_SECONDS = 1  # how long a dead worker's entries wait before they are taken over
TELEGRAM_RATE = 1_000  # messages a second the bot may send, and the emulator accepts

# Generous on purpose: other test runs may share this machine's cores.
STARTED_WITHIN = 120.0  # the first worker gets KILL_AFTER_SENT cards out
RECOVERED_WITHIN = 240.0  # the second worker gets everything out
STOPPED_WITHIN = 60.0  # the second worker exits after SIGTERM

FIRST_REP = 5_000
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CLIENT = re.compile(r"\+7 900 (\d{3})-(\d{2})-(\d{2})")
ENDED = "✅ Звонок завершён"

Slot = tuple[int, int]  # (rep's chat id, call index): one card


def rep_of(index: int) -> int:
    return FIRST_REP + index % REPS


def final_card(index: int) -> str:
    """The card rep_of(index) must end up with (reps who never wrote get Russian)."""
    digits = f"{index:07d}"
    client = f"+7 900 {digits[:3]}-{digits[3:5]}-{digits[5:]}"
    return f"{ENDED}\n{client}\nЛиния: +7 495 000-00-00\nРазговор: 1:00"


def call_index(text: str) -> int:
    found = CLIENT.search(text)
    assert found is not None, f"no client number in {text!r}"
    return int("".join(found.groups()))


def call_events(index: int) -> list[CallLegEvent | CallSummaryEvent]:
    """A one-minute inbound call answered by its rep: the leg's three states, the summary."""
    base = {"account": "main", "provider": "mango", "call_id": f"C{index}"}
    caller = Party(number=f"7900{index:07d}")
    callee = Party(extension=str(rep_of(index)), number="74950000000", line_number="74950000000")
    start = T0 + timedelta(seconds=index)
    legs = [
        CallLegEvent(
            **base,
            leg_id=f"C{index}-L",
            seq=seq,
            state=state,
            at=start + timedelta(seconds=offset),
            location="abonent",
            caller=caller,
            callee=callee,
        )
        for seq, state, offset in (
            (1, LegState.RINGING, 0),
            (2, LegState.CONNECTED, 5),
            (3, LegState.DISCONNECTED, 65),
        )
    ]
    summary = CallSummaryEvent(
        **base,
        direction=Direction.INBOUND,
        caller=caller,
        callee=callee,
        created_at=start,
        answered_at=start + timedelta(seconds=5),
        ended_at=start + timedelta(seconds=65),
        answered=True,
    )
    return [*legs, summary]


@dataclass
class Worker:
    """One ``python -m bot worker`` process; its stderr goes to a file."""

    process: asyncio.subprocess.Process
    log: Path

    @property
    def consumer(self) -> str:
        """Its consumer name in the stream groups (host-pid, see bot.app)."""
        return f"{socket.gethostname()}-{self.process.pid}"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


async def start_worker(env: dict[str, str], log: Path) -> Worker:
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "worker",
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    return Worker(process, log)


class Pipeline:
    """Where the burst stands, as Redis and the emulator show it."""

    def __init__(self, redis: Redis, emulator: TelegramEmulator) -> None:
        self.redis = redis
        self.emulator = emulator
        self.keys = Keys()
        self.groups = {self.keys.events_stream(): "workers"} | {
            stream: "senders" for stream in Outbox(redis, self.keys).streams()
        }

    def sent(self) -> int:
        return sum(1 for method, _ in self.emulator.requests if method == "sendMessage")

    def sends(self) -> list[tuple[int, Slot]]:
        """Every sendMessage Telegram received: (position among all requests, slot)."""
        return [
            (position, (int(params["chat_id"]), call_index(str(params["text"]))))
            for position, (method, params) in enumerate(self.emulator.requests)
            if method == "sendMessage"
        ]

    def cards(self) -> dict[Slot, list[ChatMessage]]:
        """Every card in the reps' chats, by slot, oldest first."""
        found: dict[Slot, list[ChatMessage]] = defaultdict(list)
        for chat in range(FIRST_REP, FIRST_REP + REPS):
            for message in self.emulator.bot_messages(chat):
                found[chat, call_index(message.text)].append(message)
        return found

    async def pending_of(self, consumer: str) -> int:
        """Entries delivered to ``consumer`` and not acknowledged, over all streams."""
        total = 0
        for stream, group in self.groups.items():
            for info in await self.redis.xinfo_consumers(stream, group):
                if info["name"] == consumer:
                    total += int(info["pending"])
        return total

    async def unfinished(self) -> int:
        """Entries not read or not acknowledged yet, plus slots waiting for a retry."""
        total = int(await self.redis.zcard(self.keys.outbox_delayed()))
        total += int(await self.redis.zcard(self.keys.outbox_stalled()))
        for stream, group in self.groups.items():
            for info in await self.redis.xinfo_groups(stream):
                if info["name"] == group:
                    total += int(info["pending"]) + int(info["lag"] or 0)
        return total

    async def dead_letters(self) -> int:
        return sum([int(await self.redis.xlen(self.keys.dead_letters(s))) for s in self.groups])

    async def finished(self) -> bool:
        cards = self.cards()
        final = sum(1 for messages in cards.values() if messages[-1].text.startswith(ENDED))
        return final >= CALLS and await self.unfinished() == 0

    async def recorded(self) -> set[Slot]:
        """The cards whose slot holds a Telegram message id: the sender stored the send."""
        outbox = Outbox(self.redis, self.keys)
        found: set[Slot] = set()
        for index in range(CALLS):
            chat = rep_of(index)
            if await outbox.sent_message(f"card:main:C{index}:{chat}") is not None:
                found.add((chat, index))
        return found

    async def describe(self) -> str:
        """The state of every stream group, for failure messages."""
        cards = self.cards()
        final = sum(1 for messages in cards.values() if messages[-1].text.startswith(ENDED))
        parts = [f"{final}/{CALLS} cards final, {len(self.sends())} sendMessage"]
        for stream, group in self.groups.items():
            for info in await self.redis.xinfo_groups(stream):
                if info["name"] == group:
                    parts.append(f"{stream}: {info['pending']} pending, {info['lag']} unread")
        parts.append(f"{await self.redis.zcard(self.keys.outbox_delayed())} delayed")
        return "; ".join(parts)

    async def wait(
        self,
        what: str,
        done: Callable[[], Awaitable[bool]],
        worker: Worker,
        *,
        within: float,
        every: float,
    ) -> float:
        """Poll ``done`` until true (fail if ``worker`` exits or time runs out); seconds."""
        started = time.monotonic()
        while not await done():
            if worker.process.returncode is not None or time.monotonic() - started > within:
                ended = worker.process.returncode
                why = f"worker exited with {ended}" if ended is not None else f"{within:.0f}s"
                raise AssertionError(
                    f"not {what} ({why}): {await self.describe()}\n{worker.log_text()[-4000:]}"
                )
            await asyncio.sleep(every)
        return time.monotonic() - started


async def link_reps(redis: Redis, redis_url: str, emulator: TelegramEmulator) -> None:
    settings = Settings(redis_url=redis_url, accounts=[{**MANGO_ACCOUNT}])
    access = Access(Repositories.over(redis), settings, Providers({}))
    for chat in range(FIRST_REP, FIRST_REP + REPS):
        emulator.add_user(chat, f"Rep{chat}", language_code="ru")
        await access.link("main", str(chat), chat, Role.REP)


def worker_env(emulator: TelegramEmulator, redis_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "pbxgram.toml"
    # The PBX does not answer: cards go out without employee names, as they must then.
    config.write_text(
        '[[accounts]]\nid = "main"\nprovider = "mango"\n'
        f'api_key = "{MANGO_ACCOUNT["api_key"]}"\napi_salt = "{MANGO_ACCOUNT["api_salt"]}"\n'
        'api_url = "http://127.0.0.1:9/vpbx/"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        BOT_TOKEN=emulator.token,
        TELEGRAM_API_URL=emulator.base_url,
        REDIS_URL=redis_url,
        PBXGRAM_CONFIG=str(config),
        TELEGRAM_GLOBAL_RATE=str(TELEGRAM_RATE),
        WORKER_CLAIM_IDLE_SECONDS=str(CLAIM_IDLE_SECONDS),
        LOG_LEVEL="WARNING",
    )
    return env


async def test_sigkill_mid_burst_loses_nothing_and_doubles_only_unrecorded_sends(
    redis_url: str, redis: Redis, tmp_path: Path
) -> None:
    limits = Limits(per_bot_per_second=TELEGRAM_RATE)  # Telegram's per-chat limits stay on
    async with TelegramEmulator(limits=limits) as emulator:
        await link_reps(redis, redis_url, emulator)
        stream = EventStream(redis, Keys())
        await asyncio.gather(*(stream.put(call_events(index)) for index in range(CALLS)))
        env = worker_env(emulator, redis_url, tmp_path)
        pipeline = Pipeline(redis, emulator)

        first = await start_worker(env, tmp_path / "first-worker.log")

        async def enough_sent() -> bool:
            return pipeline.sent() >= KILL_AFTER_SENT

        try:  # polled every millisecond: the kill lands while that send is being recorded
            await pipeline.wait(
                "cards sent", enough_sent, first, within=STARTED_WITHIN, every=0.001
            )
        finally:
            if first.process.returncode is None:
                first.process.send_signal(signal.SIGKILL)
            await first.process.wait()
        killed_at = time.monotonic()
        requests_at_kill = len(emulator.requests)
        in_flight = await pipeline.pending_of(first.consumer)
        unfinished_at_kill = await pipeline.unfinished()
        recorded_at_kill = await pipeline.recorded()

        second = await start_worker(env, tmp_path / "second-worker.log")
        try:
            await pipeline.wait(
                "every card final", pipeline.finished, second, within=RECOVERED_WITHIN, every=0.1
            )
            recovered_in = time.monotonic() - killed_at
            left_with_dead = await pipeline.pending_of(first.consumer)
            dead_letters = await pipeline.dead_letters()
        finally:
            if second.process.returncode is None:
                second.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(second.process.wait(), STOPPED_WITHIN)
            except TimeoutError:
                second.process.kill()
                await second.process.wait()
                raise
        second_started = next(
            position
            for position, (method, _) in enumerate(emulator.requests)
            if method == "getMe" and position >= requests_at_kill
        )
        sends = pipeline.sends()
        cards = pipeline.cards()

    # Sends the dead worker got to Telegram but had not stored: the only ones that can double.
    sent_by_first = [slot for position, slot in sends if position < second_started]
    window = set(sent_by_first) - recorded_at_kill
    doubled = {slot for slot, messages in cards.items() if len(messages) > 1}
    record(
        "SIGKILL of a worker mid-burst",
        injected=(
            f"{CALLS} calls ({EVENTS_PER_CALL * CALLS} events) for {REPS} reps stored at once; "
            f"the worker is killed with SIGKILL right after Telegram accepted its "
            f"{KILL_AFTER_SENT}th card; a second worker starts "
            f"(WORKER_CLAIM_IDLE_SECONDS={CLAIM_IDLE_SECONDS})"
        ),
        holds=(
            "every card delivered, in its final state; none doubled except a send Telegram "
            "accepted that the dead worker had not recorded; the second worker stops on SIGTERM"
        ),
        figures={
            "calls": CALLS,
            "cards expected": CALLS,
            "sendMessage before the kill": len(sent_by_first),
            "entries in flight at the kill (reclaimed)": in_flight,
            "entries unfinished at the kill": unfinished_at_kill,
            "sends accepted but unrecorded at the kill": len(window),
            "cards doubled": len(doubled),
            "recovery (kill to last card final)": f"{recovered_in:.1f}s",
            "sendMessage in all": len(sends),
        },
    )

    assert first.process.returncode == -signal.SIGKILL
    assert in_flight > 0, "the kill must catch the worker with entries in flight"
    assert unfinished_at_kill > 0, "the kill must come before the burst is done"
    assert left_with_dead == 0, "the dead worker's entries were all taken over"
    assert dead_letters == 0, "no entry was given up on"
    assert doubled <= window, f"doubled though recorded before the kill: {doubled - window}"
    expected = {(rep_of(index), index) for index in range(CALLS)}
    assert set(cards) == expected, f"missing {expected - set(cards)}, extra {set(cards) - expected}"
    for (chat, index), messages in cards.items():
        assert messages[-1].text == final_card(index), (chat, index, messages[-1].text)
        assert len(messages) <= 2, (chat, index, [m.text for m in messages])
    assert second.process.returncode == 0, second.log_text()
    assert "Traceback" not in second.log_text(), second.log_text()
