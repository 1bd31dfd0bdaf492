"""Running the real ``pbxgram`` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.secret_keys import TEST_SECRET_KEY

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OUR_VARIABLES = (
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "TELEGRAM_WEBHOOK",
    "REDIS_URL",
    "PBXGRAM_DATA_DIR",
    "PBXGRAM_CONFIG",
    "WEB_HOST",
    "WEB_PORT",
    "PUBLIC_URL",
    "ADMIN_IDS",
    "PBXGRAM_SECRET_KEY",
    "PBXGRAM_NEW_SECRET_KEY",
    "PBXGRAM_SECRETS_DIR",
    "LOG_LEVEL",
    "TELEGRAM_PROXY",
    "TELEGRAM_WEBHOOK_SECRET",
)


def run_pbxgram(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` in ``cwd`` with only the given pbxgram variables set."""
    clean = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    clean["PYTHONPATH"] = str(PROJECT_ROOT)
    clean["PBXGRAM_SECRET_KEY"] = TEST_SECRET_KEY  # Mobilon accounts need one
    clean.update(env or {})
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
