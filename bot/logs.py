"""Logging set-up that keeps secrets out of every log line.

``LOG_FORMAT=json`` writes one JSON object a line, with the fields of
:func:`bot.log_context.log_fields` (account, call, stream, entry, chat) where the code set
them; the text format does not print them.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote, quote_plus, unquote, urlsplit

from pythonjsonlogger.json import JsonFormatter

from bot.config import Settings
from bot.log_context import ContextFields
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
        spellings |= {json.dumps(s)[1:-1] for s in list(spellings)}  # as a JSON string holds it
        self.secrets = sorted(spellings, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class JsonRecords(JsonFormatter):
    """One JSON object a line: time, level, logger, message, context fields, exception;
    the whole line redacted (extra fields and tracebacks included)."""

    def __init__(self, redact: RedactSecrets) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact.redact(super().format(record))


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold, as plain strings."""
    values = [
        s.get_secret_value()
        for s in (
            settings.bot_token,
            settings.telegram_webhook_secret,
            settings.redis_url,
            settings.pbxgram_secret_key,
            settings.sentry_dsn,
        )
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
    """Records on stderr, plain lines or JSON (``LOG_FORMAT``), secrets redacted; errors
    to Sentry too when ``SENTRY_DSN`` is set and sentry-sdk installed."""
    from bot.sentry import init_sentry

    redact = RedactSecrets(secret_values(settings))
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonRecords(redact))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ContextFields())
    handler.addFilter(redact)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    init_sentry(settings, redact)
