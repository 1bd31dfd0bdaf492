"""A simulator of the MTS VPBX API CRM for tests and the demo."""

from __future__ import annotations

from bot.sandbox.mts.models import Abonent, Posted, ReceivedRequest
from bot.sandbox.mts.simulator import MtsSimulator

__all__ = ["Abonent", "MtsSimulator", "Posted", "ReceivedRequest"]
