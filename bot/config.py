"""The one Settings tree: environment variables (or ``.env`` and a secrets directory, see
:mod:`bot.config_sources`) plus the TOML accounts file.

Use :func:`load_settings` once at start; pass the result down. Nothing else reads
``os.environ``.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import limits
from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from bot.accounts import AccountBase
from bot.config_errors import AccountsFile, ConfigProblems, describe
from bot.config_sources import Sources, quiet_dotenv, secret_variable
from bot.errors import ConfigError
from bot.pbx.registry import ACCOUNT_MODELS, provider_id

if TYPE_CHECKING:
    Account = AccountBase
else:  # validated as the discriminated union of every registered provider's account model
    Account = Annotated[Union[ACCOUNT_MODELS], Field(discriminator="provider")]  # noqa: UP007


class Settings(BaseSettings):
    """Everything pbxgram is configured with; built once by :func:`load_settings`."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    bot_token: SecretStr | None = None
    telegram_api_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    telegram_webhook: bool = False
    telegram_webhook_secret: SecretStr | None = None
    telegram_proxy: SecretStr | None = None
    telegram_global_rate: Annotated[int, Field(ge=1, le=1000)] = 25
    # How long a message waits for an unreachable Telegram before it is given up.
    telegram_outage_hours: Annotated[float, Field(gt=0)] = 24.0
    # Admins are told of a Telegram outage that lasted at least this long, once it is over.
    telegram_outage_notice_minutes: Annotated[float, Field(ge=0)] = 5.0
    worker_claim_idle_seconds: Annotated[float, Field(ge=1, le=3600)] = 15.0
    redis_url: SecretStr | None = None
    pbxgram_data_dir: Path = Path("./data")
    pbxgram_config: Path | None = None
    pbxgram_secrets_dir: Path | None = None  # one file per variable (Docker/Kubernetes secrets)
    web_host: str = "127.0.0.1"
    web_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    worker_port: Annotated[int, Field(ge=0, le=65535)] = 8081  # `pbxgram worker` alone
    public_url: AnyHttpUrl | None = Field(default=None, validate_default=True)
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object a line, with context fields
    sentry_dsn: SecretStr | None = None  # errors to Sentry (needs the "sentry" extra)
    timezone: str = "Europe/Moscow"
    call_limit: str = "10/minute"  # per user, /call and "Call back" (calls cost money)
    sms_limit: str = "5/minute"  # per user
    digest_time: str = "19:00"  # when groups subscribed to the digest get it (TIMEZONE)
    balance_check_seconds: Annotated[float, Field(ge=1)] = 300.0
    dead_letters_max: Annotated[int, Field(ge=100)] = 10_000  # entries kept per dead-letter stream
    # Days the call log keeps a call (missed-call records: 14 days, or this if shorter).
    call_retention_days: Annotated[int, Field(ge=1, le=3650)] = 35
    audit_max_entries: Annotated[int, Field(ge=100)] = 100_000  # audit trail entries kept
    audit_retention_days: Annotated[int, Field(ge=1)] = 365  # audit entries older are dropped
    pbxgram_secret_key: SecretStr | None = None  # Fernet key(s) for secrets kept in Redis
    accounts: list[Account] = []

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("telegram_proxy")
    @classmethod
    def _proxy_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        url = value.get_secret_value().strip()
        if not _valid_proxy_url(url):  # the message never holds the value: it may hold a password
            raise ValueError(
                "expected an http://, https:// or socks5:// URL with a host and a port, "
                "such as socks5://user:password@proxy.example:1080"
            )
        return SecretStr(url)

    @field_validator("public_url")
    @classmethod
    def _public_url_for_webhook(cls, value: AnyHttpUrl | None, info: ValidationInfo) -> object:
        if value is None and info.data.get("telegram_webhook"):
            raise ValueError(
                "required when TELEGRAM_WEBHOOK is true (Telegram posts updates to "
                "PUBLIC_URL/telegram/webhook); set it, or unset TELEGRAM_WEBHOOK for long polling"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Moscow)") from None
        return value

    @field_validator("call_limit", "sms_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError("expected a rate such as 10/minute") from None
        return value

    @field_validator("digest_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        try:
            time.fromisoformat(value)
        except ValueError:
            raise ValueError("expected a time of day such as 19:00") from None
        return value

    def digest_clock(self) -> time:
        """When the daily digest goes out, in :attr:`zone`."""
        return time.fromisoformat(self.digest_time)

    @property
    def zone(self) -> ZoneInfo:
        """The time zone people read times in."""
        return ZoneInfo(self.timezone)

    @field_validator("accounts")
    @classmethod
    def _unique_ids(cls, accounts: list[Account]) -> list[Account]:
        seen: set[str] = set()
        for account in accounts:
            if account.id in seen:
                raise ValueError(f"account id {account.id!r} is used twice")
            seen.add(account.id)
        return accounts

    def account(self, account_id: str) -> Account | None:
        """The account with this id, or None."""
        return next((a for a in self.accounts if a.id == account_id), None)

    def require_bot_token(self) -> SecretStr:
        """The bot token, or a ConfigError for commands that talk to Telegram."""
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise ConfigError(
                "BOT_TOKEN: required to run the bot; set it in the environment, .env or "
                "PBXGRAM_SECRETS_DIR (get one from @BotFather)"
            )
        return self.bot_token

    @property
    def webhook_mode(self) -> bool:
        """True when Telegram should push updates to PUBLIC_URL instead of long polling
        (TELEGRAM_WEBHOOK; without PUBLIC_URL the settings are refused)."""
        return self.telegram_webhook and self.public_url is not None

    def webhook_secret(self) -> str:
        """The secret token Telegram sends with webhook updates (derived when not set)."""
        if self.telegram_webhook_secret is not None:
            return self.telegram_webhook_secret.get_secret_value()
        token = self.require_bot_token().get_secret_value()
        return hashlib.sha256(b"pbxgram-webhook:" + token.encode()).hexdigest()

    def public_base(self) -> str:
        """PUBLIC_URL without a trailing slash, or a placeholder naming the variable."""
        if self.public_url is None:
            return "<PUBLIC_URL>"
        return str(self.public_url).rstrip("/")


def load_settings() -> Settings:
    """Read the environment, ``.env``, the secrets directory and the TOML accounts file;
    raise :class:`ConfigProblems`, naming every mistake, if anything is wrong."""
    with quiet_dotenv():
        return _load(Sources.read(os.environ, Settings))


def _load(sources: Sources) -> Settings:
    """Settings from these sources, every mistake collected before one is raised."""
    problems = list(sources.problems)
    accounts_file: AccountsFile | None = None
    try:
        config_path = _config_path(sources)
        if config_path is not None:
            accounts_file = _read_accounts(config_path, sources, problems)
    except ConfigError as exc:
        problems.append(str(exc))
        config_path = None
    try:
        settings = Settings(
            _env_file=sources.env_file,
            _secrets_dir=sources.secrets_dir,
            accounts=accounts_file.accounts if accounts_file is not None else [],
            pbxgram_config=config_path,
            pbxgram_secrets_dir=sources.secrets_dir,
        )
    except ValidationError as exc:
        problems.extend(describe(exc, accounts_file))
    except SettingsError as exc:  # a variable pydantic-settings could not even parse
        problems.append(str(exc))
    if problems:
        raise ConfigProblems(problems)
    return settings


def _config_path(sources: Sources) -> Path | None:
    explicit = sources.get("PBXGRAM_CONFIG")
    if explicit is not None and explicit[0].strip():
        path = Path(explicit[0].strip())
        if not path.is_file():
            raise ConfigError(f"PBXGRAM_CONFIG: file {path.absolute()} does not exist")
        return path
    default = Path("pbxgram.toml").absolute()
    return default if default.is_file() else None


def _read_accounts(path: Path, sources: Sources, problems: list[str]) -> AccountsFile | None:
    """The file's accounts with secrets filled from variables; mistakes go to ``problems``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: not valid TOML ({exc})")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot be read ({exc.__class__.__name__})")
        return None
    problems.extend(
        f"{path}: unknown top-level key {key!r} (expected [[accounts]])"
        for key in sorted(set(data) - {"accounts"})
    )
    accounts = data.get("accounts", [])
    if not isinstance(accounts, list) or not all(isinstance(a, dict) for a in accounts):
        problems.append(f"{path}: accounts must be [[accounts]] tables")
        return None
    from_variables: dict[tuple[int, str], str] = {}
    filled = [
        _with_secrets(index, account, sources, from_variables)
        for index, account in enumerate(accounts)
    ]
    return AccountsFile(path, filled, from_variables)


def _with_secrets(
    index: int,
    account: dict[str, Any],
    sources: Sources,
    from_variables: dict[tuple[int, str], str],
) -> dict[str, Any]:
    """Fill the account's secret fields from ``PBXGRAM_<ID>_<FIELD>`` variables (the
    environment, .env, the secrets directory), which win over the file."""
    filled = dict(account)
    model = _MODELS.get(str(account.get("provider")))
    if model is None or not isinstance(account.get("id"), str):
        return filled
    for name in model.secret_fields():
        found = sources.get(secret_variable(account["id"], name))
        if found is not None:
            filled[name], from_variables[(index, name)] = found
    return filled


_MODELS = {provider_id(model): model for model in ACCOUNT_MODELS}


def _valid_proxy_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https", "socks5")
        and bool(parts.hostname)
        and port is not None
        and parts.path in ("", "/")
        and not (parts.query or parts.fragment)
    )
