"""Logging set-up that keeps secrets out of every log line."""

from __future__ import annotations

import logging
from urllib.parse import quote, quote_plus, unquote, urlsplit

from bot.config import Settings
from bot.pbx.registry import secret_fields


class RedactSecrets(logging.Filter):
    """Replaces every configured secret value in a record's message with ``***``, also where
    it appears URL-encoded (a request URL or form in an HTTP client's log line)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        spellings = {
            spelling
            for s in secrets
            if len(s) >= 4
            for spelling in (s, quote(s), quote(s, safe=""), quote_plus(s))
        }
        self.secrets = sorted(spellings, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in self.secrets:
                record.exc_text = record.exc_text.replace(secret, "***")
        return True


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold, as plain strings."""
    values = [
        s.get_secret_value()
        for s in (settings.bot_token, settings.telegram_webhook_secret, settings.redis_url)
        if s is not None
    ]
    if settings.telegram_proxy is not None:  # the URL and, alone, its password
        values.extend(_proxy_secrets(settings.telegram_proxy.get_secret_value()))
    for account in settings.accounts:
        for name in secret_fields():
            secret = getattr(account, name, None)
            if secret is not None:
                values.append(secret.get_secret_value())
    return values


def _proxy_secrets(url: str) -> list[str]:
    password = urlsplit(url).password
    return [url] if not password else [url, password, unquote(password)]


def configure_logging(settings: Settings) -> None:
    """Plain one-line records on stderr, secrets redacted."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secret_values(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
