"""The Mobilon account's ``journal_zone``: Moscow unless set, any IANA zone, and a zone that
does not exist is a configuration error in one plain line."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.pbx.mobilon.account import MobilonAccount
from tests.cli.helpers import run_pbxgram

ACCOUNT = {"id": "mob", "provider": "mobilon", "api_token": "T-SECRET-1"}


def test_journal_zone_is_moscow_unless_set() -> None:
    assert MobilonAccount.model_validate(ACCOUNT).journal_tz == ZoneInfo("Europe/Moscow")
    local = MobilonAccount.model_validate({**ACCOUNT, "journal_zone": "Asia/Vladivostok"})
    assert local.journal_tz == ZoneInfo("Asia/Vladivostok")


@pytest.mark.parametrize("zone", ["Moscow", "Europe", "", "../etc/passwd", "MSK+3"])
def test_a_zone_that_does_not_exist_is_refused(zone: str) -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        MobilonAccount.model_validate({**ACCOUNT, "journal_zone": zone})


def test_a_bad_zone_is_one_plain_configuration_line(tmp_path: Path) -> None:
    config = tmp_path / "pbxgram.toml"
    config.write_text(
        '[[accounts]]\nid = "mob"\nprovider = "mobilon"\napi_token = "T-SECRET-1"\n'
        'journal_zone = "Europe/Moskva"\n',
        encoding="utf-8",
    )

    result = run_pbxgram("check-config", cwd=tmp_path, env={"PBXGRAM_CONFIG": str(config)})

    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line == (
        f"pbxgram: configuration error: {config}: accounts[0] (mob).journal_zone: "
        "unknown time zone 'Europe/Moskva' (e.g. Europe/Moscow)"
    )
    assert "SECRET" not in result.stderr + result.stdout
