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
