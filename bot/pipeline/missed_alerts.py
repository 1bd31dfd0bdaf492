"""Missed-call alerts: exactly one per missed call, a copy in each chat concerned, every
copy drawn again whenever the call is taken, called again or closed.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain import Role, SubscriptionKind
from bot.events import Direction
from bot.phones import display
from bot.pipeline.caller_view import (
    caller_view,
    context_view,
    menu_view,
    notes_view,
)
from bot.pipeline.notify_base import NotifierBase, spam_row
from bot.pipeline.sessions import CallSession
from bot.services.missed_calls import MissedCall, ladder_times
from bot.storage.write_batch import WriteBatch
from bot.telegram.callbacks import MissedAction, MissedCallback, packed
from bot.telegram.outbox import Button, OutMessage, Priority
from bot.texts import Translator


class MissedAlerts(NotifierBase):
    """The missed-call half of :class:`bot.pipeline.notify.Notifier`."""

    async def alert_missed(self, session: CallSession) -> None:
        if session.spam:
            return  # the number was marked as spam: its calls are logged, never alerted
        account = self.settings.account(session.account)
        # Rang nobody: the caller gave up in the voice menu (unless the PBX's log, which
        # the call was recovered from, cannot tell whom it rang).
        ivr_abandoned = not session.rang and not session.rang_unknown
        if ivr_abandoned and not (account and account.alert_ivr_abandoned):
            return
        missed = MissedCall(
            account=session.account,
            call_id=session.call_id,
            client_number=session.client_number,
            at=session.started_at or session.ended_at or datetime.now(self.settings.zone),
            line_number=session.line_number,
            ivr_abandoned=ivr_abandoned,
            rang=session.rang,
            recovered=session.recovered,
            group=session.group,
            caller=session.caller,
            context=session.context,
            menu=session.menu,
            notes=session.notes,
            tags=session.tags,
        )
        recipients = await self._missed_recipients(session)
        async with self.missed.locked(missed.ref):
            existing = await self.missed.get(missed.ref)
            if existing is not None:
                missed = existing.model_copy(
                    update={
                        "rang": session.rang,
                        "ivr_abandoned": ivr_abandoned,
                        "recovered": existing.recovered or session.recovered,
                        "caller": session.caller or existing.caller,
                        "context": existing.context or session.context,
                        "menu": session.menu or existing.menu,
                        "notes": session.notes or existing.notes,
                        "tags": session.tags or existing.tags,
                    }
                )
            elif session.client_number:
                earlier = await self.missed.open_for(session.account, session.client_number)
                if earlier:  # the same number again while its first call is still open
                    await self._called_again(earlier[0], session, recipients)
                    return
            if existing is None and account is not None:
                missed.sms_at, missed.remind_at, missed.escalate_at = ladder_times(
                    missed.at, account, self.settings.zone
                )
                if not missed.client_number:
                    missed.sms_at = None
            missed.copies = _with_copies(missed, recipients)
            if missed != existing:
                await self.missed.save(missed)
        await self.render_missed(missed, batch=session.writes)

    async def _called_again(
        self, first: MissedCall, session: CallSession, recipients: list[int]
    ) -> None:
        """A repeat call: no second alert; the open one says how often and when the client
        last called, and whoever took it hears at once."""
        async with self.missed.locked(first.ref):
            missed = await self.missed.get(first.ref) or first
            if session.call_id not in missed.repeats:
                missed.repeats = [*missed.repeats, session.call_id]
                missed.last_at = session.started_at or session.ended_at
            missed.rang = list(dict.fromkeys([*missed.rang, *session.rang]))
            missed.copies = _with_copies(missed, recipients)
            await self.missed.save(missed)
        await self.render_missed(missed, batch=session.writes)
        if missed.taken_by_chat is not None:
            chat_id = missed.taken_by_chat
            t = await self.translator(chat_id)
            text = t(
                "missed_called_again",
                client=display(missed.client_number) if missed.client_number else None,
                times=missed.times_called,
                last_at=self.clock(missed.last_at),
            )
            await self.outbox.put(
                f"again:{missed.ref}:{session.call_id}",
                OutMessage(chat_id=chat_id, text=text, reply_to_slot=missed.copy_in(chat_id)),
                Priority.MISSED,
                batch=session.writes,
            )

    async def _missed_recipients(self, session: CallSession) -> list[int]:
        chats: list[int] = []
        for extension in session.rang:
            link = await self.repos.links.by_extension(session.account, extension)
            if link is not None:
                chats.append(link.telegram_id)
        if session.caller is not None and session.caller.manager:  # the client's own manager
            link = await self.repos.links.by_extension(session.account, session.caller.manager)
            if link is not None:
                chats.append(link.telegram_id)
        chats += await self.managers(session.account)
        chats += await self.repos.subscriptions.chats(session.account, SubscriptionKind.MISSED)
        return list(dict.fromkeys(chats))

    async def managers(self, account: str) -> list[int]:
        """The private chats of the account's managers (and admins linked to it)."""
        chats = []
        for link in await self.repos.links.of_account(account):
            user = await self.repos.users.get(link.telegram_id)
            if user is not None and user.role is not None and user.role.at_least(Role.MANAGER):
                chats.append(link.telegram_id)
        return list(dict.fromkeys(chats))

    async def render_missed(self, missed: MissedCall, *, batch: WriteBatch | None = None) -> None:
        """Queue every copy of the alert with its current state (open, taken or closed);
        with ``batch``, all of them ride on that batch's write (a call session's save).
        The copies differ only by language and by whether the chat shows managers'
        buttons: each text and each set of buttons is worked out once."""
        texts: dict[str, str] = {}
        rows_of: dict[tuple[str, bool], tuple[tuple[Button, ...], ...]] = {}
        for chat_id, slot in missed.copies:
            t = await self.translator(chat_id)
            language = t.language.value
            text = texts.get(language)
            if text is None:
                text = texts[language] = await self._missed_text(t, missed)
            manager = bool(missed.is_open and missed.client_number) and (
                await self._shows_manager_buttons(chat_id)
            )
            rows = rows_of.get((language, manager))
            if rows is None:
                rows = rows_of[language, manager] = self._missed_buttons(t, missed, manager)
            message = OutMessage(
                chat_id=chat_id,
                text=text,
                buttons=rows,
                late_note=t.label("calls.late"),
                about=f"{missed.account} {missed.call_id}",
            )
            await self.outbox.put(slot, message, Priority.MISSED, batch=batch)

    async def _missed_text(self, t: Translator, missed: MissedCall) -> str:
        names = [await self.name_of(missed.account, ext) or ext for ext in missed.rang]
        return t(
            "missed_alert",
            ivr=missed.ivr_abandoned,
            client=display(missed.client_number) if missed.client_number else None,
            at=self.clock(missed.at),
            line=display(missed.line_number) if missed.line_number else None,
            rang=names,
            taken_by=missed.taken_by,
            closed_by=missed.closed_by,
            closed_how=missed.closed_how,
            closed_at=self.clock(missed.closed_at),
            no_call_back=missed.no_call_back.value if missed.no_call_back else None,
            recovered=missed.recovered,
            times=missed.times_called,
            last_at=self.clock(missed.last_at),
            caller=await caller_view(missed.caller, self._names(missed.account)),
            context=await context_view(
                t, missed.context, self._names(missed.account), self.settings.zone, self.now()
            ),
            menu=menu_view(self.settings.account(missed.account), missed.menu),
            **notes_view(t, missed.notes, missed.tags),
        )

    def _missed_buttons(
        self, t: Translator, missed: MissedCall, manager: bool
    ) -> tuple[tuple[Button, ...], ...]:
        """An open alert's buttons; ``manager``: the chat shows managers' buttons too."""
        if not (missed.is_open and missed.client_number):
            return ()
        first = [_button(t.label("calls.call_back"), MissedAction.CALL, missed.ref)]
        if missed.taken_by is None:
            first.append(_button(t.label("calls.take"), MissedAction.TAKE, missed.ref))
        rows: list[tuple[Button, ...]] = [tuple(first)]
        if manager and missed.group and self._calls_groups(missed.account):
            label = t.label("calls.group_calls_back")
            rows.append((_button(label, MissedAction.GROUP, missed.ref),))
        last = [_button(t.label("calls.no_call_back"), MissedAction.DISMISS, missed.ref)]
        if manager:
            last += [b for row in spam_row(t, missed.account, missed.client_number) for b in row]
        rows.append(tuple(last))
        return tuple(rows)

    async def close_missed(self, session: CallSession) -> None:
        """Someone talked to this client: close every open missed call from them."""
        assert session.client_number is not None
        closer = await self.name_of(session.account, session.answered_by)
        how = "called_back" if session.direction is Direction.OUTBOUND else "answered_again"
        for found in await self.missed.open_for(session.account, session.client_number):
            if found.call_id == session.call_id or session.call_id in found.repeats:
                continue
            async with self.missed.locked(found.ref):
                missed = await self.missed.get(found.ref)
                if missed is None or not missed.is_open:
                    continue
                missed.closed_by = closer
                missed.closed_by_extension = session.answered_by
                missed.closed_how = how
                missed.closed_at = session.talked_at
                await self.missed.save(missed)
            await self.render_missed(missed)


def _with_copies(missed: MissedCall, recipients: list[int]) -> list[tuple[int, str]]:
    """The alert's copies, one more in each recipient's chat that has none yet."""
    known = {chat for chat, _ in missed.copies}
    return missed.copies + [
        (chat, f"missed:{missed.ref}:{chat}") for chat in recipients if chat not in known
    ]


def _button(text: str, action: MissedAction, ref: str) -> Button:
    return Button(text=text, callback_data=packed(MissedCallback, action=action, ref=ref))
