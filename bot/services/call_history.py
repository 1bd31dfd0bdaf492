"""What a person may see of their account's calls, and how journal lines show them.

Use :class:`Journal` for one linked person: reps are limited to their own extension,
managers and admins see every call of the account. :class:`JournalCall` is one line of a
listing, from the call log or from the PBX's call statistics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Settings
from bot.domain import CallNote, CallRecord, Link, Role
from bot.formatting import duration
from bot.pbx.registry import pbx_name
from bot.phones import display, normalise
from bot.pipeline.notify import Notifier
from bot.services.access import Access
from bot.services.call_log import LoggedCall
from bot.services.callback_ladder import waited
from bot.services.missed_calls import MissedCall, MissedCalls
from bot.telegram.identity import Identity
from bot.texts import Translator

OPEN_MISSED_DAYS = timedelta(days=7)  # how far back /missed looks for calls still open


@dataclass(frozen=True)
class JournalCall:
    """One call as a journal line shows it, from the call log or the PBX's statistics."""

    call_id: str
    at: datetime
    direction: str
    client: str | None
    extension: str | None
    answered: bool
    talk_seconds: int
    caller: str | None = None  # the client's name, where it was known
    notes: tuple[CallNote, ...] = ()
    spam: bool = False

    @classmethod
    def logged(cls, call: LoggedCall) -> JournalCall:
        return cls(
            call_id=call.call_id,
            at=call.started_at,
            direction=call.direction.value,
            client=call.client_number,
            extension=call.extension,
            answered=call.answered,
            talk_seconds=call.talk_seconds,
            caller=call.caller.name if call.caller else None,
            notes=tuple(call.notes),
            spam=call.spam,
        )

    @classmethod
    def from_pbx(cls, record: CallRecord, client: str) -> JournalCall:
        return cls(
            call_id=record.call_id,
            at=record.started_at,
            direction=record.direction,
            client=client,
            extension=record.extension,
            answered=record.answered,
            talk_seconds=record.talk_seconds,
        )


class Journal:
    """What one linked person may see of one account, and how to show it to them."""

    def __init__(
        self,
        link: Link,
        identity: Identity,
        access: Access,
        settings: Settings,
        notifier: Notifier,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.link = link
        self.clock = clock
        self.account = access.account(link.account)
        self.region = self.account.region if self.account else "RU"
        self.pbx = pbx_name(self.account)
        self.manager = identity.has_role(Role.MANAGER)
        self.settings = settings
        self.notifier = notifier
        self._names: dict[str, str | None] = {}

    @classmethod
    def of(
        cls,
        identity: Identity,
        access: Access,
        settings: Settings,
        notifier: Notifier,
        account: str,
    ) -> Journal | None:
        """The journal of the person's link to ``account``; None when they have none."""
        link = next((x for x in identity.links if x.account == account), None)
        return cls(link, identity, access, settings, notifier) if link else None

    @property
    def own(self) -> str | None:
        """The extension a rep is limited to; None for managers."""
        return None if self.manager else self.link.extension

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), self.settings.zone)

    def start_of_today(self) -> datetime:
        return self.now().replace(hour=0, minute=0, second=0, microsecond=0)

    def when(self, moment: datetime) -> str:
        local = moment.astimezone(self.settings.zone)
        same_year = local.year == self.now().year
        return local.strftime("%d.%m %H:%M" if same_year else "%d.%m.%Y %H:%M")

    def shown(self, number: str | None) -> str | None:
        return display(number, self.region) if number else None

    async def name(self, extension: str | None) -> str | None:
        if extension is None:
            return None
        if extension not in self._names:
            self._names[extension] = await self.notifier.name_of(self.link.account, extension)
        return self._names[extension]

    async def lines(self, calls: list[JournalCall]) -> list[dict[str, object]]:
        """The context a journal line template needs, one dict per call."""
        return [
            {
                "at": self.when(call.at),
                "direction": call.direction,
                "client": self.shown(call.client),
                "caller": call.caller,
                "notes": [{"author": n.author, "text": n.text} for n in call.notes],
                "spam": call.spam,
                "employee": await self.name(call.extension),
                "answered": call.answered,
                "talk": duration(call.talk_seconds),
            }
            for call in calls
        ]

    async def missed_lines(self, calls: list[MissedCall], t: Translator) -> list[dict[str, object]]:
        """The context a missed-call line needs, one dict per call: when, who, how long
        the client has waited, whether it is past its call-back deadline, who took it."""
        now = self.now()
        return [
            {
                "at": self.when(call.at),
                "client": self.shown(call.client_number),
                "caller": call.caller.name if call.caller else None,
                "ivr": call.ivr_abandoned,
                "rang": [await self.name(extension) for extension in call.rang],
                "taken_by": call.taken_by,
                "waited": waited(t, call.at, now),
                "overdue": call.reminded or call.overdue(now),
                "times": call.times_called,
            }
            for call in calls
        ]


def merge_history(
    logged: list[JournalCall], records: list[CallRecord], number: str, journal: Journal
) -> list[JournalCall]:
    """The log's calls and the PBX's calls with ``number`` (the log's copy wins), newest
    first; a rep keeps only the calls of their extension."""
    merged = {call.call_id: call for call in logged}
    for record in records:
        if record.call_id in merged:
            continue
        parties = (normalise(side, journal.region) for side in (record.caller, record.callee))
        if number not in parties:
            continue
        if journal.own is not None and record.extension != journal.own:
            continue
        merged[record.call_id] = JournalCall.from_pbx(record, number)
    return sorted(merged.values(), key=lambda call: call.at, reverse=True)


async def open_missed(journal: Journal, missed_calls: MissedCalls) -> list[MissedCall]:
    """The open missed calls of the last week this person should see, oldest first."""
    end = journal.start_of_today() + timedelta(days=1)
    found = await missed_calls.between(journal.link.account, end - OPEN_MISSED_DAYS, end)
    own = journal.own
    return sorted(
        (call for call in found if call.is_open and (own is None or own in call.rang)),
        key=lambda call: call.at,
    )
