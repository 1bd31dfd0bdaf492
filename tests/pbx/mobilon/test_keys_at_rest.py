"""Mobilon employee keys are kept encrypted with PBXGRAM_SECRET_KEY: plaintext ones are
encrypted when read, ``pbxgram secret-key rotate`` re-encrypts them all, and a missing or
broken key is one plain configuration line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from redis.asyncio import Redis

from bot.config import Settings
from bot.errors import ConfigError
from bot.pbx.mobilon.keys import EmployeeKeys
from bot.pbx.mobilon.redis_keys import MobilonKeys
from bot.secret_box import box_of, settings_box
from bot.secret_key_commands import run as rotate
from bot.storage import Keys
from tests.cli.helpers import run_pbxgram
from tests.secret_keys import TEST_BOX, TEST_SECRET_KEY

KEY = "anna-key-123456"
HASH = MobilonKeys.of(Keys(), "mob").keys()
MOBILON = {"id": "mob", "provider": "mobilon", "api_token": "mobilon-token"}


async def test_a_key_is_stored_encrypted_and_read_back(redis: Redis) -> None:
    keys = EmployeeKeys(redis, box=TEST_BOX)
    await keys.set("mob", "101", KEY)

    stored = str(await redis.hget(HASH, "101"))
    assert stored.startswith("fernet:") and KEY not in stored
    found = await keys.key_of("mob", "101")
    assert found is not None and found.get_secret_value() == KEY
    assert await keys.extension_of("mob", KEY) == "101"


async def test_a_plaintext_key_is_encrypted_when_first_read(redis: Redis) -> None:
    await EmployeeKeys(redis, box=TEST_BOX).set("mob", "101", KEY)
    await redis.hset(HASH, "101", KEY)  # as written before keys were encrypted

    assert await EmployeeKeys(redis, box=TEST_BOX).extension_of("mob", KEY) == "101"
    assert str(await redis.hget(HASH, "101")).startswith("fernet:")


async def test_rotate_re_encrypts_every_key(
    redis: Redis, make_settings: Callable[..., Settings]
) -> None:
    keys = EmployeeKeys(redis, box=TEST_BOX)
    await keys.set("mob", "101", KEY)
    await redis.hset(HASH, "102", "boris-key-654321")  # still plaintext
    new_key = Fernet.generate_key().decode()
    settings = make_settings(accounts=[MOBILON])

    out = await rotate(settings, argparse.Namespace(action="rotate", new_key=new_key))

    assert out.splitlines() == [
        "mob: 2 key(s) encrypted with the new key",
        "Now set PBXGRAM_SECRET_KEY to the new key and restart pbxgram.",
    ]
    rotated = EmployeeKeys(redis, box=box_of(new_key))
    boris = await rotated.key_of("mob", "102")
    assert boris is not None and boris.get_secret_value() == "boris-key-654321"
    anna = await rotated.key_of("mob", "101")
    assert anna is not None and anna.get_secret_value() == KEY
    with pytest.raises(ConfigError, match="does not decrypt the stored Mobilon keys"):
        await keys.key_of("mob", "101")  # the old key opens nothing any more


async def test_both_keys_listed_open_old_and_new(redis: Redis) -> None:
    """During a rotation PBXGRAM_SECRET_KEY may list the new key, then the old one."""
    await EmployeeKeys(redis, box=TEST_BOX).set("mob", "101", KEY)
    both = box_of(f"{Fernet.generate_key().decode()},{TEST_SECRET_KEY}")
    found = await EmployeeKeys(redis, box=both).key_of("mob", "101")
    assert found is not None and found.get_secret_value() == KEY


def test_a_missing_or_broken_key_is_a_configuration_error(
    make_settings: Callable[..., Settings],
) -> None:
    assert settings_box(make_settings(pbxgram_secret_key=None)) is None  # MANGO only
    with pytest.raises(ConfigError, match=r"^PBXGRAM_SECRET_KEY: required .* make one with"):
        settings_box(make_settings(accounts=[MOBILON], pbxgram_secret_key=None))
    with pytest.raises(ConfigError, match=r"^PBXGRAM_SECRET_KEY: not a Fernet key"):
        settings_box(make_settings(accounts=[MOBILON], pbxgram_secret_key="not-a-key"))


def test_the_command_line_names_the_variable(tmp_path: Path) -> None:
    config = tmp_path / "pbxgram.toml"
    config.write_text(
        '[[accounts]]\nid = "mob"\nprovider = "mobilon"\napi_token = "T-SECRET-1"\n',
        encoding="utf-8",
    )
    env = {"PBXGRAM_CONFIG": str(config), "PBXGRAM_SECRET_KEY": "oops-SECRET"}

    result = run_pbxgram("check-config", cwd=tmp_path, env=env)

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("pbxgram: configuration error: PBXGRAM_SECRET_KEY: not a Fernet key")
    assert "Fernet.generate_key()" in line and "oops" not in line
