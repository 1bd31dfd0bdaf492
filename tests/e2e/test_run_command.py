"""The real ``pbxgram run`` process answers /start through the emulator, and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sandbox.telegram import TelegramEmulator
from tests.cli.helpers import OUR_VARIABLES, PROJECT_ROOT
from tests.e2e.conftest import STRANGER


async def test_pbxgram_run_answers_start(emulator: TelegramEmulator, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        BOT_TOKEN=emulator.token,
        TELEGRAM_API_URL=emulator.base_url,
        PBXGRAM_DATA_DIR=str(tmp_path / "data"),
        WEB_PORT="0",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        emulator.send_text(STRANGER, "/start")
        reply = await emulator.wait_for_message(STRANGER, timeout=60)
        assert "I am pbxgram" in reply.text
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert emulator.token not in stderr.decode()
    assert (tmp_path / "data" / "appendonlydir").is_dir()
