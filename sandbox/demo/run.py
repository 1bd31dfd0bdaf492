"""``pbxgram demo``: set the company up, play the morning, print every chat.

:func:`run_demo` is what the CLI calls; it raises :class:`DemoFailed` (a PbxgramError)
when a step does not produce what it should, and ConfigError when the data directory
cannot be used.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from bot.config import Settings
from bot.errors import ConfigError
from bot.logs import configure_logging
from sandbox.demo import cast
from sandbox.demo.history import History
from sandbox.demo.live import how_to_play, print_changes
from sandbox.demo.morning import MORNING
from sandbox.demo.onboarding import set_up_company
from sandbox.demo.stage import Stage, open_stage
from sandbox.demo.transcript import render_chat

CHATS = [p.telegram_id for p in cast.PEOPLE] + [cast.GROUP_CHAT]
SETUP = "Olga, the admin, invites Maria, Anna and Boris; the Sales team group subscribes"
INTRO = (
    "pbxgram demo: a small company on MANGO OFFICE and its people in Telegram, all simulated\n"
    "on this machine (a local Telegram Bot API emulator, a MANGO OFFICE simulator, an\n"
    "embedded Redis), with the real bot in between."
)


def run_demo(
    *, verbose: bool = False, keep_running: bool = False, out: TextIO | None = None
) -> int:
    """Run the demo to the end (or until interrupted with ``keep_running``), printing to
    ``out`` (stdout by default); 0 when every step showed what it should.
    """
    with _data_dir() as data_dir:
        asyncio.run(
            _play(data_dir, verbose=verbose, keep_running=keep_running, out=out or sys.stdout)
        )
    return 0


@contextlib.contextmanager
def _data_dir() -> Iterator[Path]:
    """PBXGRAM_DATA_DIR when set (it must be empty: demo data never mixes with real
    data), else a temporary directory removed afterwards.
    """
    try:
        chosen = Settings(redis_url=None)
    except ValidationError as exc:
        raise ConfigError(f"settings: {exc.errors()[0]['msg']}") from None
    if "pbxgram_data_dir" in chosen.model_fields_set:
        path = chosen.pbxgram_data_dir
        if path.exists() and any(path.iterdir()):
            raise ConfigError(
                f"PBXGRAM_DATA_DIR: {path} is not empty; the demo needs an empty directory "
                "(or unset PBXGRAM_DATA_DIR to use a temporary one)"
            )
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="pbxgram-demo-") as temporary:
        yield Path(temporary)


async def _play(data_dir: Path, *, verbose: bool, keep_running: bool, out: TextIO) -> None:
    started = time.monotonic()
    print(INTRO, file=out, flush=True)
    async with open_stage(data_dir, verbose=verbose, configure=configure_logging) as stage:
        history = History()
        watching = asyncio.create_task(history.follow(stage.emulator, CHATS))
        try:
            print("", file=out)
            await _step(out, SETUP, set_up_company, stage)
            for number, step in enumerate(MORNING, 1):
                await _step(out, f"{number}. {step.title}", step.play, stage)
            print(file=out)
            print(transcripts(stage, history), file=out)
            print(
                f"\nAll {len(MORNING)} steps showed what they should, "
                f"in {time.monotonic() - started:.1f} s.",
                file=out,
                flush=True,
            )
            if keep_running:
                print("\n" + how_to_play(stage, data_dir), file=out, flush=True)
                print_changes(stage, history, out)
                await _until_interrupted()
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching


async def _step(
    out: TextIO, title: str, play: Callable[[Stage], Awaitable[None]], stage: Stage
) -> None:
    began = time.monotonic()
    print(f"  {title} …", end="", file=out, flush=True)
    try:
        await play(stage)
    except BaseException:
        print(" FAILED", file=out, flush=True)
        raise
    print(f" ✓ {time.monotonic() - began:.1f} s", file=out, flush=True)


def transcripts(stage: Stage, history: History | None = None) -> str:
    """Every chat of the demo, one after another."""
    zone = stage.app.settings.zone
    titles = [f"{p.label}, private chat" for p in cast.PEOPLE]
    titles.append(f"group chat “{cast.GROUP_TITLE}”")
    return "\n\n".join(
        render_chat(stage.emulator, chat, title, zone, history)
        for chat, title in zip(CHATS, titles, strict=True)
    )


async def _until_interrupted() -> None:
    """Return on Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
