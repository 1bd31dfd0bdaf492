"""A Telegram Bot API emulator on loopback: real HTTP for an unmodified aiogram Bot."""

from __future__ import annotations

from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.telegram.limits import Limits
from bot.sandbox.telegram.models import Button, ChatMessage

__all__ = ["Button", "ChatMessage", "Limits", "TelegramEmulator"]
