"""Which journal record is the call the webhooks announced.

The webhook gives no call id, only the caller's number and when it rang whom. A record
is that call when its ``from`` is the same number, it began at most :data:`LOOKBACK`
before the first ring (time in a voice menu or a queue) and not after the last ring, and
it had not ended before the first ring (``time`` + ``duration``); :data:`SKEW` allows for
the PBX's clock. Of several, the one that began closest to the first ring comes first.
"""

from __future__ import annotations

from datetime import timedelta, tzinfo

from bot.domain import CallRecord
from bot.pbx.mobilon.followed_calls import CallBook, FollowedCall
from bot.pbx.mobilon.journal import JournalEntry, day_of
from bot.phones import normalise

LOOKBACK = timedelta(minutes=30)
SKEW = timedelta(seconds=60)


def client_key(number: str, region: str) -> str:
    """How a caller's number is compared: E.164 when it reads as one, else its digits (or
    the text itself, for a number such as ``anonymous``)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return normalise(number, region) or digits or number.strip().lower()


def journal_days(call: FollowedCall, zone: tzinfo) -> list[str]:
    """The journal days (in the account's ``journal_zone``) a record of ``call`` may be
    filed under."""
    return sorted({day_of(call.first_ring - LOOKBACK, zone), day_of(call.last_ring + SKEW, zone)})


def candidates(call: FollowedCall, records: list[JournalEntry], region: str) -> list[JournalEntry]:
    """Records that may be ``call``, the likeliest first."""
    found = [
        record
        for record in records
        if client_key(record.caller, region) == call.client
        and call.first_ring - LOOKBACK <= record.time <= call.last_ring + SKEW
        and record.time + timedelta(seconds=record.duration) >= call.first_ring - SKEW
    ]
    return sorted(found, key=lambda r: (abs((call.first_ring - r.time).total_seconds()), r.callid))


async def log_call_id(book: CallBook, account: str, region: str, record: CallRecord) -> str:
    """The id a journal record's call has in pbxgram (see ``MobilonProvider.log_call_id``)."""
    claimed = await book.claimed(account, record.call_id)
    if claimed is not None:
        return claimed
    ended = record.ended_at or record.started_at
    entry = JournalEntry(
        callid=record.call_id,
        status="ANSWERED" if record.answered else "NO ANSWER",
        duration=max(0, int((ended - record.started_at).total_seconds())),
        caller=record.caller,
        callee=record.callee,
        time=record.started_at,
    )
    for call in await book.following(account):
        matches = call.direction == "inbound" and candidates(call, [entry], region)
        if matches and await book.claim(account, record.call_id, call.call_id):
            return call.call_id
    return record.call_id
