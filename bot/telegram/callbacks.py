"""CallbackData for every inline button (packed to at most 64 bytes by aiogram)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from aiogram.filters.callback_data import CallbackData

PACKED_KEPT = 4096  # buttons' data remembered (a call's cards draw the same ones again)


@lru_cache(maxsize=PACKED_KEPT)
def packed(kind: type[CallbackData], /, **fields: object) -> str:
    """``kind(**fields).pack()``, remembered: use it for buttons drawn again and again
    (every event of a call redraws its cards and alerts with the same buttons)."""
    return kind(**fields).pack()


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
    DISMISS = "d"  # "No call back needed": asks why
    GROUP = "g"  # "Group calls back": the PBX rings the group, then the client


class MissedCallback(CallbackData, prefix="ms"):
    """A button on a missed-call alert: call the client back, take the call, or say it
    needs no call back."""

    action: MissedAction
    ref: str


class SpamAction(StrEnum):
    MARK = "m"  # "🚫 Spam": mute the number's alerts
    BLOCK = "b"  # also put it on the PBX's black list
    UNBLOCK = "u"  # /blocked: not spam after all


class SpamCallback(CallbackData, prefix="sp"):
    """Spam buttons: ``number`` is the E.164 number without its "+"."""

    action: SpamAction
    account: str
    number: str


class TagCallback(CallbackData, prefix="tg"):
    """An outcome tag button on a card: ``tag`` is its place in the account's tag list;
    ``ref`` the call's short ref (see :func:`bot.services.call_log.call_ref`)."""

    ref: str
    tag: int


class NoCallBackCallback(CallbackData, prefix="nc"):
    """Why a missed call needs no call back (``reason``: a NoCallBack value)."""

    ref: str
    reason: str


class CampaignAction(StrEnum):
    START = "s"
    STOP = "p"
    REFRESH = "r"


class CampaignCallback(CallbackData, prefix="cmp"):
    """A button under the campaign list: start or stop one campaign (asked, then
    ``confirmed``), or show the list again.
    """

    action: CampaignAction
    confirmed: bool = False
    account: str = ""
    campaign_id: str = ""


class RecordingCallback(CallbackData, prefix="rec"):
    """A call in the /recordings list: send its recording to the chat."""

    ref: str


class DialAction(StrEnum):
    CALL = "c"
    SMS = "s"
    CALL_RETURN = "r"  # the last caller (no number)
    REDIAL = "d"  # the last number dialled (no number)


class DialCallback(CallbackData, prefix="dl"):
    """Call (or text) a number from the presser's own extension of ``account``."""

    action: DialAction
    account: str
    number: str  # E.164 digits without "+"


class CardAct(StrEnum):
    TRANSFER = "t"  # opens the colleague picker
    HANGUP = "h"
    RECORD = "r"
    MOBILE = "m"  # a ringing call to the employee's own mobile
    COLLEAGUE = "c"  # opens the colleague picker for a ringing call


class CardCallback(CallbackData, prefix="cd"):
    """A button on a card; the call is the one the card's message is about, ``ext`` the
    card's employee."""

    act: CardAct
    ext: str


class PickMode(StrEnum):
    ASK = ""  # blind or consult: asked next
    BLIND = "b"
    CONSULT = "h"


class PickCallback(CallbackData, prefix="pk"):
    """A choice in the picker under a card: ``to`` a colleague's extension, a number
    ("+" and digits), or "*" for "another number…"; ``act`` the card button it came from
    (TRANSFER or COLLEAGUE)."""

    act: CardAct
    ext: str
    to: str = ""
    mode: PickMode = PickMode.ASK


class AuditCallback(CallbackData, prefix="au"):
    """A page of ``/audit``: entries older than the stream id ``before`` ("" for the newest),
    with the filters of the first page (``actor`` 0 and ``action`` "" for none)."""

    before: str = ""
    actor: int = 0
    action: str = ""


class ForgetCallback(CallbackData, prefix="fgt"):
    """``/forget``'s confirmation: ``forget`` it or not; ``number`` is E.164 without "+"."""

    forget: bool
    number: str
