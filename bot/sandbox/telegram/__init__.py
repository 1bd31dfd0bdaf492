"""A Telegram Bot API emulator on loopback: real HTTP for an unmodified aiogram Bot."""

from __future__ import annotations

from bot.sandbox.telegram.emulator import TelegramEmulator
from bot.sandbox.telegram.limits import Limits
from bot.sandbox.telegram.models import Button, ChatMessage
from bot.sandbox.telegram.server import RandomFaults

__all__ = ["Button", "ChatMessage", "Limits", "RandomFaults", "TelegramEmulator"]
