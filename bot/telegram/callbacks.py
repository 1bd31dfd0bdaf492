"""CallbackData for every inline button (packed to at most 64 bytes by aiogram)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Decision(StrEnum):
    APPROVE = "y"
    REJECT = "n"


class ApprovalCallback(CallbackData, prefix="apr"):
    """An admin's answer to a phone-proof link request."""

    request_id: str
    decision: Decision


class MissedAction(StrEnum):
    CALL = "c"
    TAKE = "t"


class MissedCallback(CallbackData, prefix="ms"):
    """A button on a missed-call alert: call the client back, or take the call."""

    action: MissedAction
    ref: str
