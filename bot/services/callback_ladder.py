"""The callback ladder: a missed call nobody has called back gets a reminder at its
deadline (``callback_within``) and goes to the managers at ``escalate_after``, both counted
in working time; any call with the client, or "No call back needed", stops it. Where the
account sets ``missed_sms``, the caller is texted first (within working hours).

Each open missed call with a step still to come sits in a Redis sorted set by due time
(:meth:`MissedCalls.save` keeps it), so restarts lose nothing. Run :meth:`CallbackLadder.job`
once across replicas: each step is written as fixed outbox slots, so a step done twice
(a worker killed after sending, before noting it) sends nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from markupsafe import Markup

from bot.config import Settings
from bot.pbx.base import Capability, PbxError
from bot.pbx.providers import Providers
from bot.phones import display
from bot.pipeline.notify import Notifier
from bot.runtime.jobs import Job
from bot.services.missed_calls import MissedCall, MissedCalls
from bot.storage import Repositories
from bot.telegram.outbox import Outbox, OutMessage, Priority
from bot.texts import Texts, Translator

log = logging.getLogger(__name__)

Clock = Callable[[], float]  # seconds since the epoch, like time.time


def waited(t: Translator, since: datetime, until: datetime) -> str:
    """``25 min`` / ``1 h 5 min``: how long a client has waited."""
    minutes = max(0, int((until - since).total_seconds() // 60))
    if minutes < 60:
        return t.label("calls.waited_minutes", minutes=minutes)
    return t.label("calls.waited_hours", hours=minutes // 60, minutes=minutes % 60)


class CallbackLadder:
    """Takes the due steps of open missed calls: reminders, then escalation."""

    def __init__(
        self,
        *,
        settings: Settings,
        repos: Repositories,
        missed: MissedCalls,
        notifier: Notifier,
        outbox: Outbox,
        providers: Providers,
        texts: Texts,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._providers = providers
        self._texts = texts
        self._repos = repos
        self._missed = missed
        self._notifier = notifier
        self._outbox = outbox
        self._clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def tick(self) -> int:
        """Take every step due by now; how many missed calls had one."""
        now = self.now()
        refs = await self._missed.due(now)
        for ref in refs:
            await self._step(ref, now)
        return len(refs)

    async def _step(self, ref: str, now: datetime) -> None:
        async with self._missed.locked(ref):
            missed = await self._missed.get(ref)
            if missed is None:
                await self._missed.forget_due(ref)
                return
            if not missed.is_open:
                await self._missed.save(missed)  # takes it off the ladder
                return
            if missed.sms_at is not None and not missed.sms_done and missed.sms_at <= now:
                await self._text_caller(missed, now)
                missed.sms_done = True
            if missed.remind_at is not None and not missed.reminded and missed.remind_at <= now:
                await self._remind(missed)
                missed.reminded = True
            escalate_at = missed.escalate_at
            if escalate_at is not None and not missed.escalated and escalate_at <= now:
                await self._escalate(missed, escalate_at)
                missed.escalated = True
            await self._missed.save(missed)

    async def _text_caller(self, missed: MissedCall, now: datetime) -> None:
        """``missed_sms``: text the caller that the company saw the call, once a day per
        number, never to a number marked spam, where the PBX can send SMS."""
        account = self._settings.account(missed.account)
        number = missed.client_number
        provider = self._providers.get(missed.account)
        if account is None or not account.missed_sms or number is None or provider is None:
            return
        extension = account.missed_sms_from or (missed.rang[0] if missed.rang else None)
        if extension is None or not provider.supports(Capability.SMS):
            log.info("missed call %s: no SMS to the caller (none to send it from)", missed.ref)
            return
        if await self._missed.is_spam(missed.account, number):
            return
        day = now.astimezone(self._settings.zone).date().isoformat()
        if not await self._missed.first_text_today(missed.account, number, day):
            return
        text = account.missed_sms
        if not isinstance(text, str):
            text = self._texts.render(account.missed_sms_language, "missed_sms")
        try:
            await provider.send_sms(extension, number.lstrip("+"), text.strip())
        except PbxError as exc:  # the text is a courtesy: one try, noted in the log
            log.warning("missed call %s: SMS to the caller failed: %s", missed.ref, exc)

    async def _remind(self, missed: MissedCall) -> None:
        """At the deadline: whoever took it, alone; else the people it rang and the groups
        that follow missed calls, each as a reply to their copy of the alert."""
        assert missed.remind_at is not None
        if missed.taken_by_chat is not None:
            chats = [missed.taken_by_chat]
        else:
            rang = await self._chats_of(missed.account, missed.rang)
            chats = [chat for chat, _ in missed.copies if chat in rang or chat < 0]
        mentions = await self._mentions(missed)
        for chat_id in chats:
            t = await self._notifier.translator(chat_id)
            text = t(
                "missed_reminder",
                client=display(missed.client_number) if missed.client_number else None,
                at=self._notifier.clock(missed.at),
                waited=waited(t, missed.at, missed.remind_at),
                taken=missed.taken_by_chat is not None,
                mentions=mentions if chat_id < 0 else [],
            )
            await self._outbox.put(
                f"remind:{missed.ref}:{chat_id}",
                OutMessage(chat_id=chat_id, text=text, reply_to_slot=missed.copy_in(chat_id)),
                Priority.MISSED,
            )

    async def _escalate(self, missed: MissedCall, due: datetime) -> None:
        """At ``escalate_after``: the account's managers hear who it rang, who took it and
        how long the client has waited."""
        names = [await self._notifier.name_of(missed.account, e) or e for e in missed.rang]
        for chat_id in await self._notifier.managers(missed.account):
            t = await self._notifier.translator(chat_id)
            text = t(
                "missed_escalation",
                client=display(missed.client_number) if missed.client_number else None,
                at=self._notifier.clock(missed.at),
                waited=waited(t, missed.at, due),
                rang=names,
                taken_by=missed.taken_by,
            )
            await self._outbox.put(
                f"escalate:{missed.ref}:{chat_id}",
                OutMessage(chat_id=chat_id, text=text, reply_to_slot=missed.copy_in(chat_id)),
                Priority.MISSED,
            )

    async def _chats_of(self, account: str, extensions: list[str]) -> set[int]:
        chats = set()
        for extension in extensions:
            link = await self._repos.links.by_extension(account, extension)
            if link is not None:
                chats.add(link.telegram_id)
        return chats

    async def _mentions(self, missed: MissedCall) -> list[Markup]:
        """The people it rang, as mentions a group chat notifies."""
        found = []
        for extension in missed.rang:
            link = await self._repos.links.by_extension(missed.account, extension)
            if link is None:
                continue
            name = await self._notifier.name_of(missed.account, extension) or extension
            found.append(Markup('<a href="tg://user?id={}">{}</a>').format(link.telegram_id, name))
        return found

    def jobs(self, period: float) -> list[Job]:
        """The runner's job, every ``period`` seconds, once across replicas; none when no
        account has a deadline or an escalation."""
        accounts = self._settings.accounts
        if not any(a.callback_within or a.escalate_after or a.missed_sms for a in accounts):
            return []
        return [Job("callback-ladder", self.tick, period=period, once_across_replicas=True)]
