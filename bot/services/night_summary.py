"""The summary of the night: at opening, the groups that follow an account's missed calls
get one message about the calls missed since closing, from whom, and which are still
open, with their buttons. Accounts without ``working_hours`` have no night.

Run :meth:`NightSummary.job` once across replicas; each opening is summarised once (its
slots are fixed, and the opening summarised last is noted in Redis).
"""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from bot.accounts import AccountBase
from bot.config import Settings
from bot.domain import SubscriptionKind
from bot.phones import display
from bot.pipeline.notify import Notifier
from bot.runtime.jobs import Job
from bot.services.callback_ladder import Clock
from bot.services.missed_calls import MissedCall, MissedCalls
from bot.storage import Keys, Repositories
from bot.telegram.callbacks import MissedAction, MissedCallback
from bot.telegram.outbox import Button, Outbox, OutMessage, Priority
from bot.texts import Translator

BUTTON_ROWS = 8  # open calls with buttons; the rest are listed only


class NightSummary:
    """Sends each account's summary of the night once working hours open."""

    def __init__(
        self,
        *,
        settings: Settings,
        redis: Redis,
        keys: Keys,
        repos: Repositories,
        missed: MissedCalls,
        notifier: Notifier,
        outbox: Outbox,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._redis = redis
        self._keys = keys
        self._repos = repos
        self._missed = missed
        self._notifier = notifier
        self._outbox = outbox
        self._clock = clock

    def _accounts(self) -> list[AccountBase]:
        return [a for a in self._settings.accounts if a.working_hours is not None]

    async def tick(self) -> int:
        """Summarise the night of every account whose hours have opened since; how many."""
        now = datetime.fromtimestamp(self._clock(), self._settings.zone)
        sent = 0
        for account in self._accounts():
            hours = account.working_hours
            assert hours is not None
            opened = hours.opened_at(now)
            if opened is None:
                continue
            key = self._keys.night_summarised(account.id)
            if await self._redis.get(key) == str(int(opened.timestamp())):
                continue
            closed = hours.closed_before(opened)
            calls = await self._missed.between(account.id, closed, opened)
            if calls:
                await self._send(account.id, opened, calls)
                sent += 1
            await self._redis.set(key, str(int(opened.timestamp())))
        return sent

    async def _send(self, account: str, opened: datetime, calls: list[MissedCall]) -> None:
        chats = await self._repos.subscriptions.chats(account, SubscriptionKind.MISSED)
        still_open = [call for call in calls if call.is_open]
        for chat_id in chats:
            t = await self._notifier.translator(chat_id)
            text = t(
                "missed_night",
                count=len(calls),
                open=len(still_open),
                calls=[self._line(call) for call in calls],
            )
            await self._outbox.put(
                f"night:{account}:{int(opened.timestamp())}:{chat_id}",
                OutMessage(chat_id=chat_id, text=text, buttons=_buttons(t, still_open)),
                Priority.MISSED,
            )

    def _line(self, call: MissedCall) -> dict[str, object]:
        return {
            "at": self._notifier.clock(call.at),
            "client": display(call.client_number) if call.client_number else None,
            "times": call.times_called,
            "open": call.is_open,
            "closed_by": call.closed_by,
            "taken_by": call.taken_by,
        }

    def jobs(self, period: float) -> list[Job]:
        """The runner's job, every ``period`` seconds; none without working hours."""
        if not self._accounts():
            return []
        return [Job("night-summary", self.tick, period=period, once_across_replicas=True)]


def _buttons(t: Translator, calls: list[MissedCall]) -> tuple[tuple[Button, ...], ...]:
    """Per open call: "Call back" (when the number is known) and "I'll take it"."""
    rows: list[tuple[Button, ...]] = []
    for index, call in enumerate(calls[:BUTTON_ROWS], start=1):
        take = Button(
            text=t.label("journal.take", n=index),
            callback_data=MissedCallback(action=MissedAction.TAKE, ref=call.ref).pack(),
        )
        if call.client_number is None:
            rows.append((take,))
            continue
        call_back = Button(
            text=t.label("journal.call_back", n=index, client=display(call.client_number)),
            callback_data=MissedCallback(action=MissedAction.CALL, ref=call.ref).pack(),
        )
        rows.append((call_back, take))
    return tuple(rows)
