"""Calling a number back from a button: "Call back" on a missed-call alert and "Call" under
a number the bot offered. Use :func:`call_back` from both button handlers; it places the
call from the presser's own extension and says what to answer the press.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain import Link
from bot.services.dialing import Dialer, Refusal
from bot.texts import Translator


@dataclass(frozen=True)
class PressAnswer:
    """What to answer a button press with; ``alert`` for a refusal the person must read."""

    text: str
    alert: bool = False


async def call_back(
    dialer: Dialer,
    t: Translator,
    links: Iterable[Link],
    account: str,
    number: str | None,
    chat_id: int,
    *,
    placed: str,
    reply_to: int | None = None,
) -> PressAnswer:
    """Call ``number`` from the presser's extension of ``account``.

    The call is announced, and its result shown, in ``chat_id``; ``placed`` is the label
    answered once the PBX took the command. No number known: the PBX could not say it.
    """
    link = next((link for link in links if link.account == account), None)
    if link is None:
        return PressAnswer(t.label("calls.not_linked_here"), alert=True)
    if number is None:
        return PressAnswer(t.label("pbx_errors.unsupported"), alert=True)
    try:
        await dialer.call(t, link, number, chat_id, reply_to=reply_to)
    except Refusal as refusal:
        return PressAnswer(refusal.text, alert=True)
    return PressAnswer(t.label(placed, extension=link.extension))
