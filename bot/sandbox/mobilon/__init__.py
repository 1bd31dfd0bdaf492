"""A Mobilon VPBX simulator for tests and the demo (see :mod:`.simulator`)."""

from __future__ import annotations

from bot.sandbox.mobilon.calls import SimCall, Subscriber
from bot.sandbox.mobilon.server import ReceivedRequest
from bot.sandbox.mobilon.simulator import LINE, MobilonSimulator

__all__ = ["LINE", "MobilonSimulator", "ReceivedRequest", "SimCall", "Subscriber"]
