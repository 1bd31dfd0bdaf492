"""A token Telegram rejects stops ``pbxgram`` with one plain line and exit code 2, whether
Telegram answers at start or only after being away."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from redis.asyncio import Redis

from sandbox.telegram import TelegramEmulator
from tests.cli.helpers import OUR_VARIABLES, PROJECT_ROOT

LINE = "pbxgram: configuration error: BOT_TOKEN: Telegram rejected this token"
WRONG_TOKEN = "42:WRONG-TOKEN"


async def _start(
    command: str, api_url: str, redis_url: str, cwd: Path
) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        BOT_TOKEN=WRONG_TOKEN,
        TELEGRAM_API_URL=api_url,
        REDIS_URL=redis_url,
        WEB_PORT="0",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        command,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_rejected_at_start(
    emulator: TelegramEmulator, redis_url: str, redis: Redis, tmp_path: Path
) -> None:
    process = await _start("run", emulator.base_url, redis_url, tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2, stderr.decode()
    assert stderr.decode().strip().splitlines()[-1] == LINE
    assert "Traceback" not in stderr.decode()


async def test_rejected_once_telegram_answers(
    emulator: TelegramEmulator, redis_url: str, redis: Redis, tmp_path: Path
) -> None:
    await emulator.stop()
    process = await _start("worker", emulator.base_url, redis_url, tmp_path)
    assert process.stderr is not None
    seen: list[str] = []
    try:
        while not any("Telegram unreachable" in line for line in seen):
            raw = await asyncio.wait_for(process.stderr.readline(), timeout=60)
            assert raw, "".join(seen)
            seen.append(raw.decode())
        assert process.returncode is None, "".join(seen)  # it runs on without Telegram
        async with TelegramEmulator(token="42:ANOTHER-TOKEN", port=emulator.port):
            rest = await asyncio.wait_for(process.stderr.read(), timeout=60)
            await asyncio.wait_for(process.wait(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stderr = "".join(seen) + rest.decode()
    assert process.returncode == 2, stderr
    assert stderr.strip().splitlines()[-1] == LINE
    assert stderr.count("Telegram rejected this token") == 2  # the log line, then the error
    assert "Traceback" not in stderr
