"""With REDIS_URL unset, pbxgram runs its own server and keeps data across restarts."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.storage import Repositories, open_redis
from tests.cli.helpers import run_pbxgram
from tests.conftest import MANGO_ACCOUNT


async def test_link_from_cli_survives_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    config = tmp_path / "pbxgram.toml"
    config.write_text(
        '[[accounts]]\nid = "main"\nprovider = "mango"\napi_key = "k"\napi_salt = "s"\n',
        encoding="utf-8",
    )
    env = {"PBXGRAM_DATA_DIR": str(data_dir), "PBXGRAM_CONFIG": str(config)}

    result = run_pbxgram(
        "link",
        "--account",
        "main",
        "--extension",
        "101",
        "--telegram-id",
        "42",
        "--role",
        "manager",
        cwd=tmp_path,
        env=env,
    )

    assert result.returncode == 0, result.stderr
    assert "Linked Telegram user 42 as extension 101 of main (role manager)" in result.stdout
    assert (data_dir / "appendonlydir").is_dir()

    settings = Settings(redis_url=None, pbxgram_data_dir=data_dir, accounts=[MANGO_ACCOUNT])
    async with open_redis(settings) as redis:
        repos = Repositories.over(redis)
        links = await repos.links.of_user(42)
        user = await repos.users.get(42)
    assert [(link.account, link.extension) for link in links] == [("main", "101")]
    assert user is not None and user.role is not None and user.role.value == "manager"


async def test_embedded_server_restarts_with_its_data(tmp_path: Path) -> None:
    settings = Settings(redis_url=None, pbxgram_data_dir=tmp_path / "data")
    async with open_redis(settings) as redis:
        await Repositories.over(redis).links.link("main", "102", 7)
    async with open_redis(settings) as redis:
        link = await Repositories.over(redis).links.by_extension("main", "102")
    assert link is not None and link.telegram_id == 7


def test_link_refuses_unknown_account(tmp_path: Path) -> None:
    result = run_pbxgram(
        "link",
        "--account",
        "nope",
        "--extension",
        "101",
        "--telegram-id",
        "1",
        cwd=tmp_path,
        env={"PBXGRAM_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "pbxgram: configuration error: --account: no account 'nope' (accounts: none configured)"
    )
