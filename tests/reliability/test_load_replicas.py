"""Two web and two worker replicas under sustained webhook load keep Telegram's limits.

Injected: 2 ``python -m bot web`` and 2 ``python -m bot worker`` processes on one dedicated
Redis, against the Telegram emulator with its flood limits on (Telegram's numbers). Signed
MANGO ``events/call`` legs are posted by ``bench.load`` processes: first as fast as
possible to one web process, then to both (legs for an extension nobody is linked to, so
only ingest is measured); then open loop over both web processes, each leg a new call
ringing a linked rep, more cards a second than Telegram allows.

Must hold: every post is accepted; every card is delivered; the emulator answers no 429;
Bot API sends in any one-second window never exceed TELEGRAM_GLOBAL_RATE by more than
jitter, although two workers send. The ingest ratio (2 web / 1 web) is reported as seen:
on a 2-core machine shared with Redis, the workers and the load generator it cannot be 2.

``PBXGRAM_LONG_LOAD=1`` runs longer phases.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest_asyncio
from redis.asyncio import Redis

from bot.config import Settings
from bot.domain import Role
from bot.pbx.mango.signing import signed_form
from bot.pbx.providers import Providers
from bot.services.access import Access
from bot.storage import Keys, Repositories
from bot.storage.embedded import EmbeddedRedis
from bot.telegram.outbox import Outbox
from sandbox.telegram import Limits, TelegramEmulator
from tests.cli.helpers import OUR_VARIABLES, PROJECT_ROOT
from tests.conftest import MANGO_ACCOUNT
from tests.reliability.figures import record

LONG = os.environ.get("PBXGRAM_LONG_LOAD") == "1"
INGEST_EVENTS = 20_000 if LONG else 3_000  # per ingest phase
CARDS_PER_SECOND = 40  # offered: more than Telegram's limit, so the limiter must hold
CARD_SECONDS = 60 if LONG else 8
GLOBAL_RATE = 25  # TELEGRAM_GLOBAL_RATE (the default); the emulator allows 30
# Sends a window may show beyond the rate: a send reaches Telegram a little after the
# limiter granted it, so a few granted just before a window can land inside it. 20% keeps
# the busiest second at Telegram's own 30/s when the rate is the default 25.
JITTER = max(2, GLOBAL_RATE // 5)
REPS = 80
FIRST_REP = 700_000
REP_CHATS = range(FIRST_REP, FIRST_REP + REPS)
NOBODY = "999"  # an extension nobody is linked to: legs for it make no card
KEY: str = MANGO_ACCOUNT["api_key"]
SALT: str = MANGO_ACCOUNT["api_salt"]
SEND_METHODS = {"sendMessage", "editMessageText", "sendAudio", "sendDocument", "sendPhoto"}


def leg(index: int, extension: str) -> bytes:
    """A signed Appeared leg of a new inbound call ringing ``extension``."""
    payload = {
        "entry_id": f"load-{index}",
        "call_id": f"load-{index}-1",
        "timestamp": int(time.time()),
        "seq": 1,
        "call_state": "Appeared",
        "location": "abonent",
        "from": {"number": f"7900{index:07d}"},
        "to": {"extension": extension, "number": "74950000000"},
    }
    return urlencode(signed_form(KEY, SALT, payload)).encode()


class _Stamped(list[tuple[str, dict[str, Any]]]):
    """The emulator's request log, with the moment each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, item: tuple[str, dict[str, Any]]) -> None:
        self.times.append(time.monotonic())
        super().append(item)


def stamp(emulator: TelegramEmulator) -> _Stamped:
    stamped = _Stamped()
    emulator._ctx.state.requests = stamped
    return stamped


def busiest(times: list[float], window: float) -> int:
    """The most sends inside any ``window`` seconds."""
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


@dataclass
class Load:
    ok: int
    failed: int
    seconds: float


async def post(urls: list[str], bodies: list[bytes], *, rate: float | None = None) -> Load:
    """``bench.load`` processes, one per URL, sharing ``bodies`` (and ``rate``) evenly."""
    connections = max(1, 16 // len(urls))
    share = [bodies[i :: len(urls)] for i in range(len(urls))]
    processes = []
    for url, part in zip(urls, share, strict=True):
        args = [sys.executable, "-m", "bench.load", url, "--connections", str(connections)]
        if rate is not None:
            args += ["--rate", str(rate / len(urls))]
        process = await asyncio.create_subprocess_exec(
            *args,
            cwd=PROJECT_ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        processes.append((process, b"\n".join(part)))
    results = await asyncio.gather(*(p.communicate(data) for p, data in processes))
    summaries = [json.loads(out) for out, _ in results]
    return Load(
        ok=sum(s["ok"] for s in summaries),
        failed=sum(s["failed"] for s in summaries),
        seconds=max(s["seconds"] for s in summaries),
    )


@pytest_asyncio.fixture
async def redis_url(tmp_path: Path) -> AsyncIterator[str]:
    """A Redis of this test's own, shared by the replicas."""
    server = EmbeddedRedis(tmp_path / "redis")
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


def replica_env(emulator: TelegramEmulator, redis_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "pbxgram.toml"
    # The PBX does not answer: cards go out without employee names, as they must then.
    config.write_text(
        f'[[accounts]]\nid = "main"\nprovider = "mango"\napi_key = "{KEY}"\n'
        f'api_salt = "{SALT}"\napi_url = "http://127.0.0.1:9/vpbx/"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        BOT_TOKEN=emulator.token,
        TELEGRAM_API_URL=emulator.base_url,
        REDIS_URL=redis_url,
        PBXGRAM_CONFIG=str(config),
        TELEGRAM_GLOBAL_RATE=str(GLOBAL_RATE),
        LOG_LEVEL="WARNING",
    )
    return env


async def start(role: str, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            role,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )


async def healthy(url: str, patience: float = 60.0) -> None:
    deadline = time.monotonic() + patience
    async with httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not become ready")
            await asyncio.sleep(0.2)


async def free_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


async def test_two_web_and_two_workers_keep_telegrams_limits(
    redis_url: str, tmp_path: Path
) -> None:
    processes: list[asyncio.subprocess.Process] = []
    async with TelegramEmulator(limits=Limits()) as emulator:
        arrivals = stamp(emulator)
        redis = Redis.from_url(redis_url, decode_responses=True)
        settings = Settings(redis_url=redis_url, accounts=[MANGO_ACCOUNT])
        access = Access(Repositories.over(redis), settings, Providers({}))
        for chat in REP_CHATS:
            emulator.add_user(chat, f"Rep{chat}", language_code="en")
            await access.link("main", str(chat), chat, Role.REP)
        env = replica_env(emulator, redis_url, tmp_path)
        try:
            webs = []
            for index in range(2):
                port = await free_port()
                web_env = {**env, "WEB_PORT": str(port)}
                processes.append(await start("web", web_env, tmp_path / f"web{index}.log"))
                webs.append(f"http://127.0.0.1:{port}")
            for index in range(2):
                processes.append(await start("worker", env, tmp_path / f"worker{index}.log"))
            for url in webs:
                await healthy(url)
            urls = [f"{url}/pbx/main/events/call" for url in webs]

            # 1 web, 2 web, 2 web, 1 web: drift on the machine hits both alike. Between
            # phases the workers catch up, so each phase starts with them idle.
            one: list[Load] = []
            two: list[Load] = []
            for phase, replicas in enumerate((1, 2, 2, 1)):
                bodies = [leg(phase * INGEST_EVENTS + i, NOBODY) for i in range(INGEST_EVENTS)]
                (one if replicas == 1 else two).append(await post(urls[:replicas], bodies))
                await caught_up(redis)

            cards = CARDS_PER_SECOND * CARD_SECONDS
            reps = [str(FIRST_REP + i % REPS) for i in range(cards)]
            offered = await post(
                urls,
                [leg(4 * INGEST_EVENTS + i, rep) for i, rep in enumerate(reps)],
                rate=CARDS_PER_SECOND,
            )
            delivered = await wait_for_cards(emulator, cards)
            senders = await sender_consumers(redis)
            # While both run, one long-polls and the other waits its turn. Once they are
            # stopped, the survivor may take over while Telegram still holds the stopped
            # one's abandoned long poll: that 409 reaches nobody, so it is only reported.
            conflicts = [f for f in emulator.failures if f[0] == "getUpdates"]
            await redis.aclose()
        finally:
            for process in processes:
                if process.returncode is None:
                    process.terminate()
            for process in processes:
                await asyncio.wait_for(process.wait(), 30)
        sends = [
            at
            for at, (method, _) in zip(arrivals.times, arrivals, strict=True)
            if method in SEND_METHODS
        ]
        refused = [f for f in emulator.failures if f[0] in SEND_METHODS]
        stop_conflicts = [f for f in emulator.failures if f[0] == "getUpdates"][len(conflicts) :]

    one_rate = sum(r.ok for r in one) / sum(r.seconds for r in one)
    two_rate = sum(r.ok for r in two) / sum(r.seconds for r in two)
    failed = sum(r.failed for r in (*one, *two, offered))
    one_second, five_seconds = busiest(sends, 1.0), busiest(sends, 5.0)
    delivery_seconds = sends[-1] - sends[0] if len(sends) > 1 else 0.0
    figures = {
        "ingest_1_web_events_per_s": round(one_rate),
        "ingest_2_web_events_per_s": round(two_rate),
        "ingest_ratio_2_to_1": round(two_rate / one_rate, 2),
        "posts_failed": failed,
        "cards_offered_per_s": CARDS_PER_SECOND,
        "cards_delivered": f"{delivered}/{cards}",
        "sends_per_s_mean": round((len(sends) - 1) / delivery_seconds, 1)
        if delivery_seconds
        else None,
        "sends_busiest_1s_window": one_second,
        "sends_busiest_5s_window": five_seconds,
        "telegram_global_rate": GLOBAL_RATE,
        "telegram_429s": len(refused),
        "sender_consumers": senders,
        "getUpdates_conflicts_409": len(conflicts),
        "getUpdates_conflicts_409_at_stop": len(stop_conflicts),
        "cpu_cores": os.cpu_count(),
    }
    record(
        "Load: 2 web + 2 worker replicas",
        f"2 `python -m bot web` and 2 `python -m bot worker` on one Redis; Telegram emulator "
        f"with Telegram's flood limits; {INGEST_EVENTS} signed events/call to 1 web "
        f"process, then {INGEST_EVENTS} over both (closed loop, bench.load); then "
        f"{CARDS_PER_SECOND} cards/s offered for {CARD_SECONDS} s over both web processes "
        f"(TELEGRAM_GLOBAL_RATE={GLOBAL_RATE}).",
        f"all posts accepted, all cards delivered, zero 429s, no getUpdates conflict while "
        f"running (any at the stop reported); "
        f"no 1-second window above "
        f"{GLOBAL_RATE} + {JITTER} sends, no 5-second window above 5 × {GLOBAL_RATE} + "
        f"{JITTER}; ingest ratio 2 web / 1 web reported as measured.",
        figures,
    )
    assert failed == 0, figures
    assert all(r.ok == INGEST_EVENTS for r in (*one, *two)) and offered.ok == cards, figures
    assert delivered == cards, figures
    assert refused == [], refused[:5]
    assert one_second <= GLOBAL_RATE + JITTER, figures
    assert five_seconds <= 5 * GLOBAL_RATE + JITTER, figures
    assert senders == 2, figures
    assert conflicts == [], conflicts[:3]  # one worker long-polls; the other waits its turn


async def wait_for_cards(emulator: TelegramEmulator, expected: int) -> int:
    """Cards the reps have received, once all are in (or patience runs out)."""
    deadline = time.monotonic() + expected / GLOBAL_RATE * 2 + 30
    while True:
        delivered = sum(len(emulator.bot_messages(chat)) for chat in REP_CHATS)
        if delivered >= expected or time.monotonic() > deadline:
            return delivered
        await asyncio.sleep(0.25)


async def sender_consumers(redis: Redis) -> int:
    """Worker processes that joined the outbox streams' consumer group."""
    names: set[str] = set()
    for stream in Outbox(redis, Keys()).streams():
        if await redis.exists(stream):
            names.update(str(c["name"]) for c in await redis.xinfo_consumers(stream, "senders"))
    return len(names)


async def caught_up(redis: Redis, patience: float = 60.0) -> None:
    """Wait until the workers have processed every stored event."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        groups = await redis.xinfo_groups(Keys().events_stream())
        if groups and all(int(g["pending"]) + int(g.get("lag") or 0) == 0 for g in groups):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the workers did not catch up")
