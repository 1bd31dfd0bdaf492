"""Secrets kept at rest in Redis, encrypted with ``PBXGRAM_SECRET_KEY`` (Fernet).

Stored values read ``fernet:<token>``; anything else is a value written before
encryption, read as it is and encrypted again by whoever reads it. ``PBXGRAM_SECRET_KEY``
may list several keys, comma-separated: the first encrypts, all decrypt (for a rotation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.config import Settings

ENV = "PBXGRAM_SECRET_KEY"
PREFIX = "fernet:"
HOW_TO_MAKE = (
    'make one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


class SecretBox:
    """Encrypts and decrypts the secrets pbxgram stores."""

    def __init__(self, keys: list[str]) -> None:
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, value: str) -> str:
        """``value`` as stored."""
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, stored: str) -> str:
        """The value ``stored`` holds; ValueError when no key of ours opens it."""
        if not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise ValueError(f"not encrypted with this {ENV}") from None


def is_sealed(stored: str) -> bool:
    """True for a value stored encrypted (else it is a plaintext one to migrate)."""
    return stored.startswith(PREFIX)


def box_of(key: SecretStr | str | None, *, name: str = ENV) -> SecretBox:
    """The box for a key setting; a ConfigError (one line, no key in it) when it is
    missing or not a Fernet key."""
    text = key.get_secret_value() if isinstance(key, SecretStr) else key
    parts = [part.strip() for part in (text or "").split(",") if part.strip()]
    if not parts:
        raise ConfigError(f"{name}: required to keep Mobilon keys encrypted; {HOW_TO_MAKE}")
    try:
        return SecretBox(parts)
    except ValueError:
        raise ConfigError(
            f"{name}: not a Fernet key (32 bytes, URL-safe base64); {HOW_TO_MAKE}"
        ) from None


def needs_secret_key(settings: Settings) -> bool:
    """True when a configured account keeps secrets in Redis."""
    return any(getattr(account, "stores_secrets", False) for account in settings.accounts)


def settings_box(settings: Settings) -> SecretBox | None:
    """The box of ``PBXGRAM_SECRET_KEY``: required (ConfigError) when an account keeps
    secrets in Redis, else None when unset."""
    if settings.pbxgram_secret_key is None and not needs_secret_key(settings):
        return None
    return box_of(settings.pbxgram_secret_key)
