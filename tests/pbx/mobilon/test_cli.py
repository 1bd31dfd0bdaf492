"""``pbxgram set-key``: the real command in a subprocess, the key read from stdin, stored
for the extension and never printed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from redis.asyncio import Redis

from bot.pbx.mobilon.keys import EmployeeKeys
from tests.cli.helpers import OUR_VARIABLES, PROJECT_ROOT
from tests.secret_keys import TEST_BOX, TEST_SECRET_KEY

CONFIG = """
[[accounts]]
id = "mob"
provider = "mobilon"
api_token = "account-token-1234"
"""


async def set_key(
    tmp_path: Path, redis_url: str, stdin: str, *args: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pbxgram.toml").write_text(CONFIG, encoding="utf-8")
    env = {
        "REDIS_URL": redis_url,
        "PBXGRAM_CONFIG": str(tmp_path / "pbxgram.toml"),
        "PBXGRAM_SECRET_KEY": TEST_SECRET_KEY,
    }
    clean = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    clean.update(env, PYTHONPATH=str(PROJECT_ROOT))
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "set-key", *args],
        cwd=tmp_path,
        env=clean,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_key_from_stdin_is_stored_and_not_printed(
    tmp_path: Path, redis_url: str, redis: Redis
) -> None:
    done = await set_key(
        tmp_path, redis_url, "cli-key-123456\n", "--account", "mob", "--extension", "101"
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == "Saved the Mobilon key for extension 101 of mob.\n"
    assert "cli-key-123456" not in done.stdout + done.stderr
    key = await EmployeeKeys(redis, box=TEST_BOX).key_of("mob", "101")
    assert key is not None and key.get_secret_value() == "cli-key-123456"
    assert await EmployeeKeys(redis, box=TEST_BOX).extension_of("mob", "cli-key-123456") == "101"


async def test_mistakes_are_one_line_without_the_key(
    tmp_path: Path, redis_url: str, redis: Redis
) -> None:
    bad_key = await set_key(
        tmp_path, redis_url, "has spaces in it\n", "--account", "mob", "--extension", "101"
    )
    unknown = await set_key(
        tmp_path, redis_url, "cli-key-123456\n", "--account", "main", "--extension", "101"
    )
    empty = await set_key(tmp_path, redis_url, "", "--account", "mob", "--extension", "101")

    assert (bad_key.returncode, unknown.returncode, empty.returncode) == (2, 2, 2)
    assert bad_key.stderr == (
        "pbxgram: configuration error: that does not look like a Mobilon key "
        "(6–200 Latin letters, digits, - _ .)\n"
    )
    assert "has spaces" not in bad_key.stderr
    assert unknown.stderr == (
        "pbxgram: configuration error: --account: no Mobilon account 'main' "
        "(Mobilon accounts: mob)\n"
    )
    assert empty.stderr.startswith("pbxgram: configuration error: no key given")
    assert await EmployeeKeys(redis, box=TEST_BOX).extensions("mob") == []
