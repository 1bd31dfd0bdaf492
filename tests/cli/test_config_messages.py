"""Configuration that explains itself: every mistake at once, one plain line each, naming
the field or variable; ``.env`` and a secrets directory; check-config's warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import check_config_report
from bot.config import Settings, load_settings
from bot.config_errors import ConfigProblems
from tests.cli.helpers import OUR_VARIABLES, run_pbxgram

MANGO = '[[accounts]]\nid = "main"\nprovider = "mango"\napi_key = "K-SECRET-1"\n'
RELAY = '[[accounts]]\nid = "ast"\nprovider = "relay"\n'
LONG_SECRET = "R-SECRET-2-0123456789"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory and none of pbxgram's variables set."""
    for name in (*OUR_VARIABLES, "PBXGRAM_MAIN_API_SALT", "PBXGRAM_AST_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _problems(workdir: Path, toml: str | None = None) -> list[str]:
    if toml is not None:
        (workdir / "pbxgram.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigProblems) as raised:
        load_settings()
    assert "-SECRET-" not in str(raised.value)
    return list(raised.value.problems)


def _load(workdir: Path, toml: str) -> Settings:
    (workdir / "pbxgram.toml").write_text(toml, encoding="utf-8")
    return load_settings()


def test_a_missing_secret_names_its_variable(workdir: Path) -> None:
    assert _problems(workdir, MANGO) == [
        f"{workdir / 'pbxgram.toml'}: accounts[0] (main).api_salt: required but missing: add "
        "it to the account, or set PBXGRAM_MAIN_API_SALT (in the environment, .env or "
        "PBXGRAM_SECRETS_DIR)"
    ]


def test_a_missing_plain_field(workdir: Path) -> None:
    [line] = _problems(workdir, '[[accounts]]\nprovider = "relay"\nsecret = "0123456789abcdef"\n')
    assert line.endswith(": accounts[0].id: required but missing")


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("WEB_PORT", "eighty", "WEB_PORT: expected a whole number"),
        ("WEB_PORT", "70000", "WEB_PORT: must be at most 65535"),
        ("TELEGRAM_WEBHOOK", "maybe", "TELEGRAM_WEBHOOK: expected true or false"),
        ("ADMIN_IDS", "12,bob", "ADMIN_IDS (item 2): expected a whole number"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: expected 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ("PUBLIC_URL", "not a url", "PUBLIC_URL: expected an http:// or https:// URL"),
    ],
)
def test_a_wrong_variable_is_named_in_plain_words(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    [line] = _problems(workdir)
    assert line.startswith(expected)
    assert "Input should" not in line


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ('auto_link_by_phone = "maybe"', "auto_link_by_phone: expected true or false"),
        ("balance_alert_below = [1]", "balance_alert_below: expected a number"),
        ('api_url = "ftp://pbx.example"', "api_url: expected an http:// or https:// URL"),
        ('region = "ru"', 'region: expected a country code in two capital letters, such as "RU"'),
        ('menu = { "x" = "Sales" }', "menu.x (the key): expected the keys that choose the item"),
        ('working_hours = "9-18"', 'working_hours: "9-18" is not like "mon-fri 09:00-18:00"'),
    ],
)
def test_a_wrong_field_is_named_in_plain_words(workdir: Path, field: str, expected: str) -> None:
    [line] = _problems(workdir, MANGO + f'api_salt = "S-SECRET-3"\n{field}\n')
    assert f"accounts[0] (main).{expected}" in line
    assert "Value error" not in line


def test_too_short_counts_characters_and_never_shows_the_secret(workdir: Path) -> None:
    [line] = _problems(workdir, RELAY + 'secret = "S-SECRET-4"\n')
    assert line.endswith("accounts[0] (ast).secret: must have at least 16 characters")


def test_a_secret_from_a_variable_says_where_it_came_from(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PBXGRAM_AST_SECRET", "S-SECRET-5")
    [line] = _problems(workdir, RELAY)
    assert "accounts[0] (ast).secret (from PBXGRAM_AST_SECRET in the environment): " in line


def test_an_unknown_provider_lists_the_known_ones(workdir: Path) -> None:
    [line] = _problems(workdir, '[[accounts]]\nid = "pbx"\nprovider = "asterisk"\n')
    assert line.endswith(
        "accounts[0] (pbx).provider: unknown provider 'asterisk': "
        "expected one of mango, mts, mobilon, relay"
    )


def test_webhook_mode_without_public_url_is_a_mistake(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK", "true")
    [line] = _problems(workdir)
    assert line.startswith("PUBLIC_URL: required when TELEGRAM_WEBHOOK is true")
    monkeypatch.setenv("PUBLIC_URL", "https://bot.example.com")
    assert load_settings().webhook_mode


def test_every_mistake_is_listed_at_once(workdir: Path) -> None:
    toml = (
        MANGO
        + RELAY
        + 'secret = "short"\ncolour = "red"\n'
        + '[[accounts]]\nid = "x"\nprovider = "asterisk"\n'
        + "[server]\n"
    )
    (workdir / "pbxgram.toml").write_text(toml, encoding="utf-8")
    env = {"TELEGRAM_WEBHOOK": "true", "WEB_PORT": "eighty"}

    result = run_pbxgram("check-config", cwd=workdir, env=env)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("pbxgram: configuration error: ") for line in lines)
    found = "\n".join(lines)
    for expected in (
        "pbxgram.toml: unknown top-level key 'server'",
        "WEB_PORT: expected a whole number",
        "PUBLIC_URL: required when TELEGRAM_WEBHOOK is true",
        "accounts[0] (main).api_salt: required but missing",
        "accounts[1] (ast).secret: must have at least 16 characters",
        "accounts[1] (ast).colour: not a field pbxgram knows here",
        "accounts[2] (x).provider: unknown provider 'asterisk'",
    ):
        assert expected in found
    assert len(lines) == 7, result.stderr
    assert "Traceback" not in result.stderr
    assert "-SECRET-" not in result.stderr + result.stdout


def test_env_file_is_read_and_the_environment_wins(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / ".env").write_text(
        "BOT_TOKEN=1:from-dotenv\nWEB_PORT=9000\nLOG_LEVEL=DEBUG\n"
        "PBXGRAM_MAIN_API_SALT=S-SECRET-6\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("WEB_PORT", "9100")

    settings = _load(workdir, MANGO)

    assert settings.require_bot_token().get_secret_value() == "1:from-dotenv"
    assert settings.log_level == "DEBUG"
    assert settings.web_port == 9100
    [account] = settings.accounts
    assert account.model_dump()["api_salt"].get_secret_value() == "S-SECRET-6"


def test_env_file_lines_that_cannot_be_read_are_mistakes(workdir: Path) -> None:
    (workdir / ".env").write_text('BOT_TOKEN=1:x\nS-SECRET 9\nWEB_PORT="80\n', encoding="utf-8")
    assert _problems(workdir) == [
        f"{workdir / '.env'}: line 2 is not NAME=value",
        f"{workdir / '.env'}: line 3 is not NAME=value",
    ]


def test_env_file_names_the_accounts_file(workdir: Path) -> None:
    (workdir / "elsewhere.toml").write_text(MANGO + 'api_salt = "S"\n', encoding="utf-8")
    (workdir / ".env").write_text("PBXGRAM_CONFIG=elsewhere.toml\n", encoding="utf-8")
    assert [a.id for a in load_settings().accounts] == ["main"]


def test_secrets_directory_is_read_below_env_file(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = workdir / "run-secrets"
    secrets.mkdir()
    (secrets / "BOT_TOKEN").write_text("1:from-file\n", encoding="utf-8")
    (secrets / "telegram_webhook_secret").write_text("hook-file\n", encoding="utf-8")
    (secrets / "PBXGRAM_MAIN_API_SALT").write_text("S-SECRET-7\n", encoding="utf-8")
    (secrets / "PBXGRAM_AST_SECRET").write_text(LONG_SECRET, encoding="utf-8")
    (workdir / ".env").write_text("TELEGRAM_WEBHOOK_SECRET=hook-dotenv\n", encoding="utf-8")
    monkeypatch.setenv("PBXGRAM_SECRETS_DIR", "run-secrets")

    settings = _load(workdir, MANGO + RELAY + 'secret = "the-file-loses-to-the-dir"\n')

    assert settings.require_bot_token().get_secret_value() == "1:from-file"
    assert settings.webhook_secret() == "hook-dotenv"
    main, ast = settings.accounts
    assert main.model_dump()["api_salt"].get_secret_value() == "S-SECRET-7"
    assert ast.model_dump()["secret"].get_secret_value() == LONG_SECRET
    assert settings.pbxgram_secrets_dir == secrets


def test_a_secrets_directory_that_does_not_exist_is_a_mistake(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PBXGRAM_SECRETS_DIR", "nowhere")
    monkeypatch.setenv("WEB_PORT", "eighty")
    assert _problems(workdir) == [
        f"PBXGRAM_SECRETS_DIR: directory {workdir / 'nowhere'} does not exist",
        "WEB_PORT: expected a whole number",
    ]


def test_check_config_warns_and_prints_absolute_paths(workdir: Path) -> None:
    (workdir / ".env").write_text("LOG_LEVEL=INFO\n", encoding="utf-8")
    (workdir / "pbxgram.toml").write_text(MANGO + 'api_salt = "S-SECRET-8"\n', encoding="utf-8")

    result = run_pbxgram("check-config", cwd=workdir, env={"PBXGRAM_DATA_DIR": "./state"})

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "Configuration is valid, with 2 warnings:",
        "  warning: BOT_TOKEN is not set: run, web and worker need it (from @BotFather).",
        "  warning: PUBLIC_URL is not set: replace <PUBLIC_URL> below with your address.",
    ]
    assert f"Accounts file: {workdir / 'pbxgram.toml'}" in lines
    assert f"Variables file: {workdir / '.env'}" in lines
    assert f"Redis: embedded, data in {workdir / 'state'}" in lines
    assert "-SECRET-" not in result.stdout


def test_check_config_without_warnings(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:x")
    monkeypatch.setenv("PUBLIC_URL", "https://bot.example.com")
    monkeypatch.setenv("TELEGRAM_WEBHOOK", "true")

    report = check_config_report(_load(workdir, MANGO + 'api_salt = "S"\n'), reveal=False)

    assert report.splitlines()[0] == "Configuration is valid."
    assert "Telegram: webhook at https://bot.example.com/telegram/webhook" in report
    assert "warning" not in report


def test_check_config_warns_about_no_accounts(workdir: Path) -> None:
    report = check_config_report(load_settings(), reveal=False)
    assert f"warning: No PBX accounts: set PBXGRAM_CONFIG or put pbxgram.toml in {workdir}." in (
        report
    )
    assert "Accounts file: none" in report


def test_a_variable_wins_over_the_secret_in_the_file(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PBXGRAM_MAIN_API_SALT", "from-environment")
    [account] = _load(workdir, MANGO + 'api_salt = "from-file"\n').accounts
    assert account.model_dump()["api_salt"].get_secret_value() == "from-environment"
