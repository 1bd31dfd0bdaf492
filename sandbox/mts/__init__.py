"""A simulator of the MTS VPBX API CRM for tests and the demo."""

from __future__ import annotations

from sandbox.mts.models import Abonent, Posted, ReceivedRequest
from sandbox.mts.simulator import MtsSimulator

__all__ = ["Abonent", "MtsSimulator", "Posted", "ReceivedRequest"]
