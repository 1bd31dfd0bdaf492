"""Redis restarted in the middle of a burst of PBX webhooks.

The app runs on its own embedded Redis (append-only file on). A steady burst of signed
MANGO ``events/summary`` webhooks (one missed call each, summarised in a group chat) goes
to the web tier; a quarter of the way in, the Redis server is stopped, left down for a
while, and started again on the same data directory and port. What must hold:

- an event acknowledged with 2xx is never lost: its summary reaches the group chat;
- while Redis is down the web tier answers 503 (the PBX will retry), never 2xx;
- the same app process recovers on its own: events posted (and retried) afterwards are
  processed, and each call is shown exactly once.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from bot.app import App
from bot.domain import SubscriptionKind
from bot.phones import display
from bot.storage.embedded import EmbeddedRedis
from sandbox.mango import MangoSimulator
from sandbox.telegram import TelegramEmulator
from tests.e2e.conftest import drained
from tests.helpers import until
from tests.reliability.conftest import FAULTS_LINE, StartApp
from tests.reliability.figures import record

EVENTS = 300  # webhooks in the burst, one call each
PACE = 0.02  # seconds between two webhooks of the burst
RESTART_AFTER = EVENTS // 4  # acknowledged events before Redis goes down
OUTAGE = 2.0  # seconds Redis stays down
GROUP_CHAT = -100800  # subscribed to call summaries
ADMIN = 1000  # adds the bot to the group
PATIENCE = 120.0  # generous: other test runs may share the machine's two cores


CLIENT_LINE = re.compile(r"^Клиент: (.+)$", re.MULTILINE)


def client_of(index: int) -> str:
    return f"7900777{index:04d}"


def summary(index: int) -> dict[str, Any]:
    """MANGO's ``events/summary`` of missed inbound call ``index`` (spec 3.1.2)."""
    now = int(time.time())
    return {
        "entry_id": f"UmVkaXNSZXN0YXJ0:{index}",
        "call_direction": 1,
        "from": {"number": client_of(index)},
        "to": {"number": FAULTS_LINE},
        "line_number": FAULTS_LINE,
        "create_time": now - 40,
        "forward_time": 0,
        "talk_time": 0,
        "end_time": now,
        "entry_result": 0,
        "disconnect_reason": 1110,
    }


def free_port() -> int:
    """A free port outside the range embedded servers pick from, so none takes it meanwhile."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest_asyncio.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    """A Redis server for this test alone (stopped after the app that uses it)."""
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    async with server:
        yield server


async def test_redis_restart_mid_burst(
    own_redis: EmbeddedRedis,
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    start_app: StartApp,
) -> None:
    emulator, mango = emulator, mango
    app: App = await start_app(redis_url=own_redis.url)
    emulator.add_user(ADMIN, "Admin", language_code="ru")
    emulator.add_group(GROUP_CHAT, "Sales")
    await app.repos.subscriptions.subscribe(GROUP_CHAT, "main", SubscriptionKind.SUMMARY)
    emulator.add_bot_to_group(GROUP_CHAT, ADMIN)
    await emulator.wait_for_message(GROUP_CHAT)  # the bot's hello
    hello = len(emulator.bot_messages(GROUP_CHAT))
    await _burst_through_restart(app, emulator, mango, own_redis, hello)


async def _burst_through_restart(
    app: App, emulator: TelegramEmulator, mango: MangoSimulator, server: EmbeddedRedis, hello: int
) -> None:
    first_answer: dict[int, int] = {}
    answers: dict[int, list[tuple[float, float, int]]] = {}  # index -> (sent, answered, status)
    down: list[float] = []  # when Redis was down, when it was being started again

    async def post(index: int) -> int:
        sent = time.monotonic()
        status = await mango.post("events/summary", summary(index))
        answers.setdefault(index, []).append((sent, time.monotonic(), status))
        first_answer.setdefault(index, status)
        return status

    def acked() -> int:
        return len([s for s in first_answer.values() if 200 <= s < 300])

    async def restart() -> None:
        await until(lambda: acked() >= RESTART_AFTER, PATIENCE, "the burst did not start")
        await server.stop()
        down.append(time.monotonic())
        await asyncio.sleep(OUTAGE)  # the outage itself: the webhooks keep coming
        down.append(time.monotonic())
        await server.start()

    started = time.monotonic()
    restarter = asyncio.create_task(restart())
    posts = []
    for index in range(EVENTS):
        posts.append(asyncio.create_task(post(index)))
        await asyncio.sleep(PACE)
    await asyncio.gather(*posts)
    await restarter
    went_down, restarting = down

    def shown() -> Counter[str]:
        """Clients of the calls summarised in the group chat, counted."""
        texts = [m.text for m in emulator.bot_messages(GROUP_CHAT)[hello:]]
        return Counter(found.group(1) for text in texts if (found := CLIENT_LINE.search(text)))

    # Nothing the app acknowledged is lost, although Redis went away meanwhile.
    acked_clients = {display(client_of(i)) for i, tries in answers.items() if tries[-1][2] == 200}
    await until(lambda: set(shown()) >= acked_clients, PATIENCE, "an acknowledged event was lost")
    caught_up = time.monotonic()

    async def retry(index: int) -> None:
        """The PBX posts again what was not acknowledged, as MANGO does."""
        deadline = time.monotonic() + PATIENCE
        while answers[index][-1][2] != 200:
            assert time.monotonic() < deadline, f"event {index} is never accepted"
            await asyncio.sleep(0.1)
            await post(index)

    await asyncio.gather(*(retry(index) for index in range(EVENTS)))

    everyone = Counter({display(client_of(index)): 1 for index in range(EVENTS)})
    await until(lambda: shown() == everyone, PATIENCE, "not every call was shown once")
    await drained(app, patience=PATIENCE)
    assert shown() == everyone
    texts = [m.text for m in emulator.bot_messages(GROUP_CHAT)[hello:]]
    assert len(texts) == EVENTS, "a call was shown twice"
    assert texts[0].startswith("⬇️ Входящий звонок · ")
    assert texts[0].endswith("\nСотрудник: —\nНе отвечен")

    tries = [answer for answered in answers.values() for answer in answered]
    statuses = Counter(status for _, _, status in tries)
    assert set(statuses) <= {200, 503, 0}, statuses
    # Sent and answered while Redis was down: nothing can have been stored.
    during = [status for sent, done, status in tries if went_down < sent and done < restarting]
    assert 503 in during
    assert 200 not in during, "2xx while Redis was down"
    recovered = min(done for _, done, status in tries if done > restarting and status == 200)
    record(
        "Redis restarted mid-burst",
        f"{EVENTS} signed MANGO events/summary webhooks, one every {PACE * 1000:.0f} ms; "
        f"after {RESTART_AFTER} were acknowledged the embedded Redis (append-only file on) "
        f"was stopped, left down {OUTAGE:.0f} s and started again on the same data and port",
        "every event acknowledged with 2xx is processed (its summary reaches the group "
        "chat); 503 while Redis is down, never 2xx; the app recovers without a restart and "
        "each call is shown once after the PBX's retries",
        {
            "events": EVENTS,
            "acked on the first try": acked(),
            "acked before the PBX's retries": len(acked_clients),
            "503 answers": statuses[503],
            "no answer": statuses[0],
            "lost": 0,
            "doubled": 0,
            "Redis down": f"{restarting - went_down:.1f} s",
            "first 2xx after the restart began": f"{recovered - restarting:.2f} s",
            "every acked event shown": f"{caught_up - restarting:.1f} s after the restart",
            "total": f"{time.monotonic() - started:.1f} s",
        },
    )
