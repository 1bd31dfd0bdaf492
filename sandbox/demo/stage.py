"""The stage the demo plays on: the Telegram emulator, the MANGO simulator and the real
app between them, plus the few moves the script makes (say, press, expect, drained).

Use :func:`open_stage` as an async context manager; every wait in here waits on a
condition and ends in :class:`DemoFailed` with a readable reason when it does not come.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from time import time as time_now
from typing import Any

from redis.exceptions import ResponseError

from bot.app import App, Tuning, running
from bot.config import Settings
from bot.errors import PbxgramError
from bot.pipeline.consumer import ConsumerOptions
from bot.pipeline.reconcile import ReconcileTiming
from bot.reports.digest import DigestTiming
from sandbox.demo import cast
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, Limits, TelegramEmulator

DIGEST_TIME = time(19, 0)
PATIENCE = 15.0  # seconds any single expectation may take


class DemoFailed(PbxgramError):
    """A step of the demo did not produce what it should have; the message says what."""


class DemoClock:
    """The clock the daily-digest job reads: midnight of today until the script moves it
    to the digest time, so the digest goes out when the script says and not before.
    """

    def __init__(self, settings: Settings) -> None:
        self._zone = settings.zone
        self.moment = datetime.combine(self.today(), time(0, 0), self._zone)

    def today(self) -> date:
        return datetime.now(self._zone).date()

    def now(self) -> datetime:
        return self.moment

    def move_to(self, clock: time) -> None:
        self.moment = datetime.combine(self.today(), clock, self._zone)


class LadderClock:
    """The clock missed-call deadlines are read by: the real time, plus however far the
    script has skipped ahead ("15 minutes later")."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time_now() + self.skipped

    def skip(self, seconds: float) -> None:
        self.skipped += seconds


@dataclass
class Stage:
    """Everything running, and the moves people make."""

    emulator: TelegramEmulator
    mango: MangoSimulator
    app: App
    clock: DemoClock
    ladder_clock: LadderClock

    def say(
        self,
        person: cast.Person,
        text: str,
        *,
        chat: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """``person`` writes ``text`` (in their private chat unless ``chat``); its message id."""
        update = self.emulator.send_text(person.telegram_id, text, chat_id=chat, reply_to=reply_to)
        return int(update["message"]["message_id"])

    def press(self, person: cast.Person, message: ChatMessage, data: str) -> str:
        """``person`` presses the button with callback data ``data``; the query id."""
        return self.emulator.press_button(
            person.telegram_id, message.chat_id, message.message_id, data
        )

    async def expect(
        self,
        chat: int,
        what: str,
        predicate: Callable[[ChatMessage], bool],
        *,
        patience: float | None = None,
    ) -> ChatMessage:
        """The bot's first message in ``chat`` matching ``predicate``; DemoFailed naming
        ``what`` was awaited when it does not come within ``patience`` seconds.
        """
        patience = PATIENCE if patience is None else patience
        try:
            return await self.emulator.wait_for_message(chat, predicate, timeout=patience)
        except TimeoutError:
            raise DemoFailed(
                f"{what}: nothing like it arrived within {patience:.0f} s. "
                f"The chat so far:\n{self.emulator.describe(chat)}"
            ) from None

    async def answered(self, query_id: str, what: str) -> dict[str, Any]:
        """The bot's answer to a button press (what the presser sees as a toast)."""
        try:
            return await self.emulator.wait_for_callback_answer(query_id, timeout=PATIENCE)
        except TimeoutError:
            raise DemoFailed(f"{what}: the bot did not answer the button press") from None

    async def settled(self) -> None:
        """Wait until the PBX has played every call it started and the bot has processed
        every event and delivered every message.
        """
        try:
            await self.mango.wait_idle(timeout=PATIENCE)
        except TimeoutError:
            raise DemoFailed("the PBX simulator did not finish playing its calls") from None
        await drained(self.app)


async def drained(app: App, *, patience: float | None = None) -> None:
    """Wait until every stored event is processed and every queued message delivered
    (three quiet looks in a row), or fail after ``patience`` seconds.
    """
    patience = PATIENCE if patience is None else patience
    streams = [(app.keys.events_stream(), "workers")] + [
        (stream, "senders") for stream in app.outbox.streams()
    ]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    quiet = 0
    while quiet < 3:
        if loop.time() > deadline:
            raise DemoFailed(f"the bot's queues did not empty within {patience:.0f} s")
        busy = await app.redis.zcard(app.keys.outbox_delayed())
        if app.worker.identifier is not None:
            busy += app.worker.identifier.pending  # caller look-ups in the background
        for stream, group in streams:
            try:
                groups = await app.redis.xinfo_groups(stream)
            except ResponseError:  # the stream does not exist yet: nothing queued there
                continue
            for info in groups:
                if info["name"] == group:
                    busy += int(info["pending"]) + int(info.get("lag") or 0)
        quiet = quiet + 1 if busy == 0 else 0
        await asyncio.sleep(0.05)


def demo_settings(
    emulator: TelegramEmulator, mango: MangoSimulator, data_dir: Path, *, verbose: bool
) -> Settings:
    """The settings ``pbxgram run`` would read, pointed at the sandbox: the emulator as
    Telegram, the simulator as the company's PBX, an embedded Redis in ``data_dir``.
    """
    return Settings(
        bot_token=emulator.token,
        telegram_api_url=emulator.base_url,
        telegram_webhook=False,
        redis_url=None,
        pbxgram_data_dir=data_dir,
        pbxgram_config=None,
        web_host="127.0.0.1",
        web_port=0,
        public_url=None,
        admin_ids=[cast.OLGA.telegram_id],
        log_level="INFO" if verbose else "WARNING",
        digest_time=DIGEST_TIME.strftime("%H:%M"),
        accounts=[
            {
                "id": cast.ACCOUNT_ID,
                "provider": "mango",
                "api_url": mango.base_url,
                "api_key": cast.API_KEY,
                "api_salt": cast.API_SALT,
                "callback_within": cast.CALLBACK_WITHIN,
            }
        ],
    )


@asynccontextmanager
async def open_stage(
    data_dir: Path, *, verbose: bool, configure: Callable[[Settings], None]
) -> AsyncIterator[Stage]:
    """Start the emulator, the simulator and the app (web and worker roles, long polling,
    as ``pbxgram run``); ``configure`` sees the settings before anything logs.
    """
    async with (
        # A scripted person types faster than Telegram's per-chat limits allow; the bot
        # still keeps to those limits itself for everything it sends through its outbox.
        TelegramEmulator(bot_username="pbxgram_demo_bot", limits=Limits.disabled()) as emulator,
        MangoSimulator(cast.API_KEY, cast.API_SALT) as mango,
    ):
        cast.add_people(emulator, "en")
        cast.furnish_pbx(mango)
        settings = demo_settings(emulator, mango, data_dir, verbose=verbose)
        configure(settings)
        clock = DemoClock(settings)
        ladder_clock = LadderClock()
        tuning = Tuning(
            clock=ladder_clock,
            ladder_period=0.2,
            consumer=ConsumerOptions(claim_idle_ms=int(settings.worker_claim_idle_seconds * 1000)),
            digest=DigestTiming(clock=clock.now, poll_seconds=0.2),
            # The scripted day loses no webhook: nothing to recover from the PBX's call log.
            reconcile=ReconcileTiming(enabled=False),
        )
        async with running(settings, web_role=True, worker_role=True, tuning=tuning) as app:
            mango.webhook_url = f"{app.web_url}/pbx/{cast.ACCOUNT_ID}"
            yield Stage(emulator, mango, app, clock, ladder_clock)
