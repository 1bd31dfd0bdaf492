"""The URLs an operator pastes into each PBX's settings, per the routes pbxgram serves."""

from __future__ import annotations

from bot.accounts import AccountBase
from bot.config import Settings
from bot.pbx.registry import setup_lines

TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"


def pbx_urls(settings: Settings, account: AccountBase, *, reveal: bool = False) -> list[str]:
    """Human-readable lines naming each URL to paste and where (the account's provider
    words them)."""
    return setup_lines(account, f"{settings.public_base()}/pbx/{account.id}", reveal=reveal)
