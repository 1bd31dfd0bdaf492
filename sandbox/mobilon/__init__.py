"""A Mobilon VPBX simulator for tests and the demo (see :mod:`.simulator`)."""

from __future__ import annotations

from sandbox.mobilon.calls import SimCall, Subscriber
from sandbox.mobilon.server import ReceivedRequest
from sandbox.mobilon.simulator import LINE, MobilonSimulator

__all__ = ["LINE", "MobilonSimulator", "ReceivedRequest", "SimCall", "Subscriber"]
