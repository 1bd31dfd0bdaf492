"""Keyboards; every label comes from the person's language via the Translator."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.domain import Link
from bot.services.campaigns import Section
from bot.services.missed_calls import MissedCall, NoCallBack
from bot.telegram.callbacks import (
    ApprovalCallback,
    CampaignAction,
    CampaignCallback,
    Decision,
    DialAction,
    DialCallback,
    MissedAction,
    MissedCallback,
    NoCallBackCallback,
    RecordingCallback,
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


def recordings_keyboard(
    t: Translator, refs: Sequence[str], lines: Sequence[dict[str, Any]]
) -> InlineKeyboardMarkup:
    """One "Listen" button per call of a /recordings list (``lines``: the journal lines)."""
    keyboard = InlineKeyboardBuilder()
    for index, (ref, line) in enumerate(zip(refs, lines, strict=True), start=1):
        label = t.label("journal.listen", n=index, at=line["at"], client=line["client"] or "—")
        keyboard.button(text=label, callback_data=RecordingCallback(ref=ref))
    keyboard.adjust(1)
    return keyboard.as_markup()


def missed_list_keyboard(
    t: Translator, calls: Sequence[MissedCall], shown: Callable[[str | None], str | None]
) -> InlineKeyboardMarkup:
    """Per call of /missed: "Call back" (when the number is known) and "I'll take it"."""
    keyboard = InlineKeyboardBuilder()
    for index, call in enumerate(calls, start=1):
        take = InlineKeyboardButton(
            text=t.label("journal.take", n=index),
            callback_data=MissedCallback(action=MissedAction.TAKE, ref=call.ref).pack(),
        )
        if call.client_number is None:
            keyboard.row(take)
            continue
        call_back = InlineKeyboardButton(
            text=t.label("journal.call_back", n=index, client=shown(call.client_number)),
            callback_data=MissedCallback(action=MissedAction.CALL, ref=call.ref).pack(),
        )
        keyboard.row(call_back, take)
    return keyboard.as_markup()


def _short(name: str) -> str:
    if len(name) <= BUTTON_NAME_LENGTH:
        return name
    return name[: BUTTON_NAME_LENGTH - 1].rstrip() + "…"


def no_call_back_keyboard(t: Translator, ref: str) -> InlineKeyboardMarkup:
    """Why a missed call needs no call back: one button per reason."""
    builder = InlineKeyboardBuilder()
    for reason in NoCallBack:
        builder.button(
            text=t.label(f"calls.no_call_back_{reason.value}"),
            callback_data=NoCallBackCallback(ref=ref, reason=reason.value),
        )
    builder.adjust(1)
    return builder.as_markup()
