"""A Telegram Bot API emulator on loopback: real HTTP for an unmodified aiogram Bot."""

from __future__ import annotations

from sandbox.telegram.emulator import TelegramEmulator
from sandbox.telegram.limits import Limits
from sandbox.telegram.models import Button, ChatMessage
from sandbox.telegram.server import RandomFaults

__all__ = ["Button", "ChatMessage", "Limits", "RandomFaults", "TelegramEmulator"]
