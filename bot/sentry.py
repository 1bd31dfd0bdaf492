"""Errors to Sentry, when ``SENTRY_DSN`` is set and sentry-sdk is installed
(``pip install 'pbxgram[sentry]'``), with the log's redaction applied to every event."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.logs import RedactSecrets

log = logging.getLogger(__name__)


def scrub(value: Any, redact: Callable[[str], str]) -> Any:
    """``value`` (an event, or any part of it) with every string redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: scrub(item, redact) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, redact) for item in value]
    return value


def before_send(redact: RedactSecrets) -> Callable[[Any, Any], Any]:
    """Sentry's ``before_send`` (and ``before_breadcrumb``): the event, redacted."""

    def hook(event: Any, hint: Any) -> Any:
        return scrub(event, redact.redact)

    return hook


def init_sentry(settings: Settings, redact: RedactSecrets) -> bool:
    """Start the Sentry SDK if ``SENTRY_DSN`` is set and it is installed; True if started."""
    if settings.sentry_dsn is None or not settings.sentry_dsn.get_secret_value().strip():
        return False
    if importlib.util.find_spec("sentry_sdk") is None:
        log.warning("SENTRY_DSN is set but sentry-sdk is not installed (pbxgram[sentry])")
        return False
    import sentry_sdk

    hook = before_send(redact)
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value().strip(),
        before_send=hook,
        before_breadcrumb=hook,
        send_default_pii=False,
    )
    return True
