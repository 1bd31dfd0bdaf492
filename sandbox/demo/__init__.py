"""``pbxgram demo``: the real bot, offline, through a scripted morning at a small company.

Everything runs on loopback: the Telegram Bot API emulator (:mod:`sandbox.telegram`),
the MANGO OFFICE simulator (:mod:`sandbox.mango`) and an embedded Redis, with the app
started by :func:`bot.app.running` exactly as ``pbxgram run`` starts it.
"""

from __future__ import annotations

from sandbox.demo.run import run_demo
from sandbox.demo.stage import DemoFailed

__all__ = ["DemoFailed", "run_demo"]
