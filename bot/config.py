"""The one Settings tree: environment variables plus the TOML accounts file.

Use :func:`load_settings` once at start; pass the result down. Nothing else reads
``os.environ``.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import limits
from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.accounts import AccountBase
from bot.errors import ConfigError
from bot.pbx.registry import ACCOUNT_MODELS, provider_ids, secret_fields

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
    web_host: str = "127.0.0.1"
    web_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    public_url: AnyHttpUrl | None = None
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    timezone: str = "Europe/Moscow"
    call_limit: str = "10/minute"  # per user, /call and "Call back" (calls cost money)
    sms_limit: str = "5/minute"  # per user
    digest_time: str = "19:00"  # when groups subscribed to the digest get it (TIMEZONE)
    balance_check_seconds: Annotated[float, Field(ge=1)] = 300.0
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
            raise ConfigError("BOT_TOKEN: required to run the bot (get one from @BotFather)")
        return self.bot_token

    @property
    def webhook_mode(self) -> bool:
        """True when Telegram should push updates to PUBLIC_URL instead of long polling."""
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
    """Read the environment and the TOML accounts file; raise ConfigError on any mistake."""
    config_path = _config_path(os.environ)
    accounts = _read_accounts(config_path, os.environ) if config_path is not None else []
    try:
        return Settings(accounts=accounts, pbxgram_config=config_path)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, config_path)) from None


def _config_path(env: Mapping[str, str]) -> Path | None:
    explicit = env.get("PBXGRAM_CONFIG", "").strip()
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"PBXGRAM_CONFIG: file {explicit} does not exist")
        return path
    default = Path("pbxgram.toml")
    return default if default.is_file() else None


def _read_accounts(path: Path, env: Mapping[str, str]) -> list[dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.__class__.__name__})") from None
    unknown = sorted(set(data) - {"accounts"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key {unknown[0]!r} (expected [[accounts]])")
    accounts = data.get("accounts", [])
    if not isinstance(accounts, list) or not all(isinstance(a, dict) for a in accounts):
        raise ConfigError(f"{path}: accounts must be [[accounts]] tables")
    return [_with_env_secrets(account, env) for account in accounts]


def _with_env_secrets(account: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Fill secret fields the file leaves out from PBXGRAM_<ID>_<FIELD> variables."""
    filled = dict(account)
    account_id = str(account.get("id", "")).upper().replace("-", "_")
    for name in secret_fields():
        value = env.get(f"PBXGRAM_{account_id}_{name.upper()}")
        if name not in filled and value:
            filled[name] = value
    return filled


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


def _describe(exc: ValidationError, config_path: Path | None) -> str:
    error = exc.errors()[0]
    loc = [part for part in error["loc"] if part not in provider_ids()]
    message = error["msg"]
    if error["type"] == "missing":
        message = "required but missing"
    elif error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        message = "provider must be one of " + ", ".join(provider_ids())
    if loc and loc[0] == "accounts" and config_path is not None:
        where = "accounts" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
        return f"{config_path}: {where}: {message}"
    name = str(loc[0]).upper() if loc else "settings"
    return f"{name}: {message}"
