"""Keyboards; every label comes from the person's language via the Translator."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.telegram.callbacks import ApprovalCallback, Decision
from bot.texts import Translator


def contact_keyboard(t: Translator) -> ReplyKeyboardMarkup:
    """One button that shares the person's own phone number."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=t.label("buttons.share_phone"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def approval_keyboard(t: Translator, request_id: str) -> InlineKeyboardMarkup:
    """Approve / Reject for an admin."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t.label("buttons.approve"),
                    callback_data=ApprovalCallback(
                        request_id=request_id, decision=Decision.APPROVE
                    ).pack(),
                ),
                InlineKeyboardButton(
                    text=t.label("buttons.reject"),
                    callback_data=ApprovalCallback(
                        request_id=request_id, decision=Decision.REJECT
                    ).pack(),
                ),
            ]
        ]
    )
