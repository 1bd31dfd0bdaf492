"""The command line and the audit trail: ``pbxgram audit export``, and what ``link``,
``dead-letters replay|drop`` and ``check-config --reveal`` record."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.audit_commands import export, record_best_effort
from bot.cli import _link, build_parser
from bot.config import Settings
from bot.services.audit import AuditLog
from bot.storage import Keys
from tests.cli.helpers import run_pbxgram
from tests.cli.test_dead_letters_command import EVENTS, command, dead_event, refused_message

KEYS = Keys()


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


async def test_export_writes_json_lines_oldest_first_from_a_day(
    redis: Redis, settings: Settings
) -> None:
    old = int((datetime.now(UTC) - timedelta(days=30)).timestamp() * 1000)
    await redis.xadd(KEYS.audit(), {"action": "role", "actor": "5"}, id=f"{old}-0")
    audit = AuditLog(redis, KEYS)
    await audit.record("link", actor=1000, account="main", details={"extension": "101"})
    await audit.record("config_reveal", actor="cli")

    written: list[str] = []
    assert await export(settings, None, written.append) == 3
    rows = [json.loads(line) for line in written]
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("role", 5),
        ("link", 1000),
        ("config_reveal", "cli"),
    ]
    assert rows[1]["account"] == "main" and rows[1]["details"] == {"extension": "101"}

    args = build_parser().parse_args(
        ["audit", "export", "--since", f"{datetime.now(UTC) - timedelta(days=1):%Y-%m-%d}"]
    )
    recent: list[str] = []
    assert await export(settings, args.since, recent.append) == 2
    assert recent == written[1:]


def test_export_refuses_a_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["audit", "export", "--since", "31.01.2026"])
    assert "expected a date such as 2026-01-31" in capsys.readouterr().err


async def test_link_from_the_shell_is_recorded(redis: Redis, settings: Settings) -> None:
    args = build_parser().parse_args(
        ["link", "--account", "main", "--extension", "101", "--telegram-id", "2001"]
    )
    await _link(settings, args)
    [entry] = await AuditLog(redis, KEYS).entries()
    assert (entry.action, entry.actor, entry.account) == ("link", "cli", "main")
    assert entry.details == {"user": "2001", "extension": "101", "role": "rep", "how": "cli"}


async def test_dead_letter_replays_and_drops_are_recorded(redis: Redis, settings: Settings) -> None:
    await redis.xadd(EVENTS, {"event": "{}"})
    await dead_event(redis)
    await refused_message(redis)
    listed = (await command(settings, "list")).splitlines()[1:]
    await command(settings, "replay", listed[0].split()[0])
    await command(settings, "drop", "--all")

    entries = await AuditLog(redis, KEYS).entries()
    assert [(e.action, e.actor) for e in entries] == [
        ("dead_letter_drop", "cli"),
        ("dead_letter_replay", "cli"),
    ]
    assert entries[1].details["id"] == listed[0].split()[0]
    assert entries[0].details["stream"].endswith(":dead")


async def test_check_config_reveal_records_only_where_redis_answers(
    redis: Redis, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    assert await record_best_effort(make_settings(), "config_reveal") is None
    [entry] = await AuditLog(redis, KEYS).entries()
    assert (entry.action, entry.actor) == ("config_reveal", "cli")

    unreachable = make_settings(redis_url="redis://127.0.0.1:1/0")
    note = await record_best_effort(unreachable, "config_reveal")
    assert note is not None and note.startswith("not recorded in the audit trail: Redis is not")

    shown = run_pbxgram("check-config", "--reveal", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.rstrip().endswith(
        "Note: not recorded in the audit trail: REDIS_URL is not set."
    )
