"""Keyboards; every label comes from the person's language via the Translator."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.domain import Link
from bot.services.campaigns import Section
from bot.telegram.callbacks import (
    ApprovalCallback,
    CampaignAction,
    CampaignCallback,
    Decision,
    DialAction,
    DialCallback,
)
from bot.texts import Translator

BUTTON_NAME_LENGTH = 28


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


def dial_offer_keyboard(
    t: Translator, link: Link, number: str, *, sms: bool
) -> InlineKeyboardMarkup:
    """Call (and, when the PBX can, SMS) ``number`` from ``link``'s extension."""
    actions = [(DialAction.CALL, "calling.buttons.call")]
    if sms:
        actions.append((DialAction.SMS, "calling.buttons.sms"))
    digits = number.lstrip("+")
    buttons = [
        InlineKeyboardButton(
            text=t.label(label),
            callback_data=DialCallback(action=action, account=link.account, number=digits).pack(),
        )
        for action, label in actions
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


def campaign_list_keyboard(t: Translator, sections: list[Section]) -> InlineKeyboardMarkup:
    """A Start or Stop button per campaign (as its state allows), then Refresh."""
    rows: list[list[InlineKeyboardButton]] = []
    for section in sections:
        for row in section.campaigns:
            if row.action is None:
                continue
            start = row.action is CampaignAction.START
            label = "account.buttons.start" if start else "account.buttons.stop"
            data = CampaignCallback(action=row.action, account=row.account, campaign_id=row.id)
            rows.append(
                [
                    InlineKeyboardButton(
                        text=t.label(label, name=_short(row.name)), callback_data=data.pack()
                    )
                ]
            )
    refresh = CampaignCallback(action=CampaignAction.REFRESH)
    rows.append(
        [
            InlineKeyboardButton(
                text=t.label("account.buttons.refresh"), callback_data=refresh.pack()
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def campaign_confirm_keyboard(
    t: Translator, action: CampaignAction, account: str, campaign_id: str
) -> InlineKeyboardMarkup:
    """Yes (carry out ``action``) / No (back to the list)."""
    yes = CampaignCallback(action=action, confirmed=True, account=account, campaign_id=campaign_id)
    no = CampaignCallback(action=CampaignAction.REFRESH)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=t.label("account.buttons.yes"), callback_data=yes.pack()),
                InlineKeyboardButton(text=t.label("account.buttons.no"), callback_data=no.pack()),
            ]
        ]
    )


def _short(name: str) -> str:
    if len(name) <= BUTTON_NAME_LENGTH:
        return name
    return name[: BUTTON_NAME_LENGTH - 1].rstrip() + "…"
