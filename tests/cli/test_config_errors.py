"""Every class of configuration mistake ends in one plain line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import run_pbxgram

GOOD_MANGO = (
    '[[accounts]]\nid = "main"\nprovider = "mango"\n'
    'api_key = "K-SECRET-1"\napi_salt = "S-SECRET-2"\n'
)
MTS = '[[accounts]]\nid = "mts"\nprovider = "mts"\napi_token = "T-SECRET-3"\ncallback_key = "C-4"\n'


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "pbxgram.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


CASES = [
    pytest.param(["run"], {}, None, "BOT_TOKEN: required", id="missing-bot-token"),
    pytest.param(["check-config"], {"WEB_PORT": "eighty"}, None, "WEB_PORT:", id="bad-env-type"),
    pytest.param(
        ["check-config"], {"ADMIN_IDS": "12,bob"}, None, "ADMIN_IDS (item 2):", id="bad-admin-ids"
    ),
    pytest.param(
        ["check-config"], {"PUBLIC_URL": "not a url"}, None, "PUBLIC_URL:", id="bad-public-url"
    ),
    pytest.param(
        ["check-config"],
        {"TELEGRAM_PROXY": "ftp://office:P-SECRET-8@proxy.example:21"},
        None,
        "TELEGRAM_PROXY: expected an http://, https:// or socks5:// URL",
        id="bad-proxy",
    ),
    pytest.param(
        ["check-config"],
        {"PBXGRAM_CONFIG": "/nowhere/pbxgram.toml"},
        None,
        "PBXGRAM_CONFIG: file /nowhere/pbxgram.toml does not exist",
        id="missing-config-file",
    ),
    pytest.param(["check-config"], {}, "[[accounts]\n", "not valid TOML", id="toml-syntax"),
    pytest.param(
        ["check-config"],
        {},
        '[[accounts]]\nid = "main"\nprovider = "mango"\napi_key = "K-SECRET-1"\n',
        "accounts[0] (main).api_salt: required but missing: add it to the account, "
        "or set PBXGRAM_MAIN_API_SALT",
        id="missing-field",
    ),
    pytest.param(
        ["check-config"],
        {},
        '[[accounts]]\nid = "x"\nprovider = "asterisk"\n',
        "accounts[0] (x).provider: unknown provider 'asterisk': "
        "expected one of mango, mts, mobilon, relay",
        id="unknown-provider",
    ),
    pytest.param(
        ["check-config"],
        {},
        GOOD_MANGO + "colour = 'red'\n",
        "accounts[0] (main).colour: not a field pbxgram knows here",
        id="unknown-field",
    ),
    pytest.param(
        ["check-config"],
        {},
        GOOD_MANGO + 'working_hours = "mon-fri 9-18"\n',
        'accounts[0] (main).working_hours: "mon-fri 9-18" is not like "mon-fri 09:00-18:00"',
        id="bad-working-hours",
    ),
    pytest.param(
        ["check-config"],
        {},
        GOOD_MANGO + 'silence_alert_after = "2 hours"\n',
        'accounts[0] (main).silence_alert_after: "2 hours" is not a duration',
        id="bad-duration",
    ),
    pytest.param(
        ["check-config"],
        {},
        GOOD_MANGO + GOOD_MANGO,
        "account id 'main' is used twice",
        id="duplicate-id",
    ),
    pytest.param(
        ["check-config"],
        {},
        GOOD_MANGO.replace('"main"', '"Main Office"'),
        "accounts[0] (Main Office).id: expected up to 32 lowercase letters",
        id="bad-slug",
    ),
    pytest.param(
        ["check-config"],
        {},
        MTS + 'mode = "push"\n',
        "accounts[0] (mts).mode: expected 'apicrm' or 'webhook'",
        id="bad-choice",
    ),
    pytest.param(
        ["check-config"],
        {},
        "[server]\nport = 1\n",
        "unknown top-level key 'server'",
        id="unknown-table",
    ),
]


@pytest.mark.parametrize(("args", "env", "toml", "expected"), CASES)
def test_config_mistake_is_one_plain_line(
    tmp_path: Path, args: list[str], env: dict[str, str], toml: str | None, expected: str
) -> None:
    env = dict(env)
    if toml is not None:
        env["PBXGRAM_CONFIG"] = _write(tmp_path, toml)

    result = run_pbxgram(*args, cwd=tmp_path, env=env)

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pbxgram: configuration error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert "-SECRET-" not in result.stderr + result.stdout


def test_secrets_may_come_from_environment(tmp_path: Path) -> None:
    config = _write(
        tmp_path, '[[accounts]]\nid = "main-office"\nprovider = "mango"\napi_key = "K"\n'
    )
    result = run_pbxgram(
        "check-config",
        cwd=tmp_path,
        env={"PBXGRAM_CONFIG": config, "PBXGRAM_MAIN_OFFICE_API_SALT": "S-SECRET-5"},
    )
    assert result.returncode == 0, result.stderr
    assert "SECRET" not in result.stdout


def test_check_config_prints_urls_per_provider(tmp_path: Path) -> None:
    config = _write(
        tmp_path,
        GOOD_MANGO
        + MTS
        + '[[accounts]]\nid = "mob"\nprovider = "mobilon"\napi_token = "M-SECRET-6"\n'
        + '[[accounts]]\nid = "ast"\nprovider = "relay"\nsecret = "R-SECRET-7-0123456789"\n',
    )
    env = {"PBXGRAM_CONFIG": config, "PUBLIC_URL": "https://pbx.example.com/"}

    result = run_pbxgram("check-config", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "https://pbx.example.com/pbx/main\n" in out
    assert "https://pbx.example.com/pbx/main/events/call" in out
    assert "/api/service/apicrm: https://pbx.example.com/pbx/mts/events" in out
    assert "https://pbx.example.com/pbx/mob/incoming?number={NUMBER}&key={KEY}" in out
    assert "https://pbx.example.com/pbx/ast/calls/<secret>" in out
    assert "SECRET" not in out

    revealed = run_pbxgram("check-config", "--reveal", cwd=tmp_path, env=env)
    assert "https://pbx.example.com/pbx/ast/calls/R-SECRET-7-0123456789" in revealed.stdout
