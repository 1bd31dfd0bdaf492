"""``pbxgram demo``: the real bot, offline, through a scripted morning at a small company.

Everything runs on loopback: the Telegram Bot API emulator (:mod:`bot.sandbox.telegram`),
the MANGO OFFICE simulator (:mod:`bot.sandbox.mango`) and an embedded Redis, with the app
started by :func:`bot.app.running` exactly as ``pbxgram run`` starts it.
"""

from __future__ import annotations

from bot.demo.run import run_demo
from bot.demo.stage import DemoFailed

__all__ = ["DemoFailed", "run_demo"]
