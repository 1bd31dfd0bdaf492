"""Notification decisions: what people should see for each call event.

Every decision is written as the full content of an outbox slot, rendered from the call
session, so running a decision twice (a redelivered event) queues nothing new.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.config import Settings
from bot.domain import Role, SubscriptionKind
from bot.events import CallLegEvent, Direction, LegState, RecordingEvent
from bot.formatting import duration
from bot.phones import display
from bot.pipeline.caller_view import (
    NameOf,
    caller_view,
    context_view,
    menu_view,
    notes_view,
    tag_label,
)
from bot.pipeline.sessions import CallSession
from bot.services.call_log import call_ref
from bot.services.employee_names import DirectoryCache
from bot.services.missed_calls import MissedCall, MissedCalls, ladder_times
from bot.storage import Repositories
from bot.telegram.callbacks import (
    DialAction,
    DialCallback,
    MissedAction,
    MissedCallback,
    SpamAction,
    SpamCallback,
    TagCallback,
)
from bot.telegram.notices import Notices
from bot.telegram.outbox import AudioRef, Button, Outbox, OutMessage, Priority
from bot.texts import Texts, Translator

CARD_DIRECTIONS = {Direction.INBOUND, Direction.INTERNAL}


class Notifier:
    """Turn call sessions into outbox slots: cards, missed alerts, summaries, recordings."""

    def __init__(
        self,
        *,
        settings: Settings,
        repos: Repositories,
        outbox: Outbox,
        texts: Texts,
        directory: DirectoryCache,
        missed: MissedCalls,
        notices: Notices,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.repos = repos
        self.outbox = outbox
        self.texts = texts
        self.directory = directory
        self.missed = missed
        self.notices = notices
        self.clock_source = clock

    # people and words ------------------------------------------------------------
    async def translator(self, chat_id: int) -> Translator:
        return await self.notices.translator(chat_id)

    async def name_of(self, account: str, extension: str | None) -> str | None:
        if extension is None:
            return None
        names = await self.directory.names(account)
        if extension in names:
            return names[extension]
        link = await self.repos.links.by_extension(account, extension)
        user = await self.repos.users.get(link.telegram_id) if link else None
        return user.first_name if user and user.first_name else extension

    def clock(self, moment: datetime | None) -> str:
        return moment.astimezone(self.settings.zone).strftime("%H:%M") if moment else ""

    # cards -----------------------------------------------------------------------
    async def on_leg(self, session: CallSession, event: CallLegEvent) -> None:
        if session.direction in CARD_DIRECTIONS:
            leg = session.legs[event.leg_id]
            extension = leg.extension
            # Any event of a leg that called this extension shows it a card: workers
            # may see a leg's end before its ringing.
            if extension and extension not in session.cards and event.callee.extension == extension:
                link = await self.repos.links.by_extension(session.account, extension)
                if link is not None:
                    session.cards[extension] = link.telegram_id
            await self.refresh_cards(session)
        if session.talked_at is not None and session.client_number:
            await self.close_missed(session)
        if session.finished:
            # The summary was handled before this leg: decide the end of the call again
            # with what is known now (nothing already shown is queued twice).
            await self.on_summary(session)

    async def refresh_cards(self, session: CallSession) -> None:
        for extension, chat_id in session.cards.items():
            t = await self.translator(chat_id)
            state = self._card_state(session, extension)
            text = t(
                "card",
                state=state,
                client=display(session.client_number) if session.client_number else None,
                caller_name=await self._caller_name(session),
                line=display(session.line_number) if session.line_number else None,
                group=(await self.directory.group_names(session.account)).get(
                    session.group or "", session.group
                ),
                colleague=await self.name_of(session.account, session.answered_by),
                talk=duration(session.talk_seconds or self._talk_of(session, extension)),
                **await self._about_caller(t, session),
            )
            priority = Priority.RINGING if state == "ringing" else Priority.MISSED
            buttons = _call_back(t, session) if state in ("missed", "ended") else ()
            if session.finished and state in ("missed", "ended"):
                buttons += self._tag_buttons(t, session)
                if not session.spam and await self._may_mark_spam(chat_id):
                    buttons += _spam_row(t, session.account, session.client_number)
            await self.outbox.put(
                card_slot(session, extension),
                OutMessage(chat_id=chat_id, text=text, buttons=buttons, about=about(session)),
                priority,
            )

    async def _about_caller(self, t: Translator, session: CallSession) -> dict[str, Any]:
        """The caller's identity, context line and voice-menu choice, for the templates."""
        return {
            "caller": await caller_view(session.caller, self._names(session.account)),
            "context": await context_view(
                t, session.context, self._names(session.account), self.settings.zone, self.now()
            ),
            "menu": menu_view(self.settings.account(session.account), session.menu),
            "spam": session.spam,
            **notes_view(t, session.notes, session.tags),
        }

    async def _may_mark_spam(self, chat_id: int) -> bool:
        """Spam buttons go to groups (the press is checked) and to managers and admins."""
        if chat_id < 0:
            return True
        user = await self.repos.users.get(chat_id)
        return user is not None and user.role is not None and user.role.at_least(Role.MANAGER)

    def _tag_buttons(self, t: Translator, session: CallSession) -> tuple[tuple[Button, ...], ...]:
        """The account's outcome tags, a tick on those set; four to a row."""
        account = self.settings.account(session.account)
        if account is None or not account.tags:
            return ()
        ref = call_ref(session.account, session.call_id)
        buttons = [
            Button(
                text=("✓ " if tag in session.tags else "") + tag_label(t, tag),
                callback_data=TagCallback(ref=ref, tag=index).pack(),
            )
            for index, tag in enumerate(account.tags)
        ]
        return tuple(tuple(buttons[i : i + 4]) for i in range(0, len(buttons), 4))

    def _names(self, account: str) -> NameOf:
        async def name(extension: str | None) -> str | None:
            return await self.name_of(account, extension)

        return name

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock_source(), UTC)

    async def on_identity(self, session: CallSession) -> None:
        """The caller's identity (or menu choice) became known: draw the call's messages
        again; a missed call's alert also reaches the client's personal manager."""
        await self.refresh_cards(session)
        if not session.finished:
            return
        if session.direction is Direction.INBOUND and session.answered is False:
            await self.alert_missed(session)
        await self.post_summary(session)

    def _card_state(self, session: CallSession, extension: str) -> str:
        leg = session.leg_of(extension)
        if session.answered_by == extension:
            if leg is not None and leg.state is LegState.ON_HOLD:
                return "on_hold"
            if session.finished or (leg is not None and leg.state is LegState.DISCONNECTED):
                return "ended"
            return "talking"
        if session.answered_by is not None:
            return "colleague"
        if session.finished:
            return "missed"
        if leg is not None and leg.state is LegState.DISCONNECTED:
            return "stopped"
        return "ringing"

    def _talk_of(self, session: CallSession, extension: str) -> int:
        leg = session.leg_of(extension)
        if leg is None or leg.connected_at is None or leg.ended_at is None:
            return 0
        return max(0, int((leg.ended_at - leg.connected_at).total_seconds()))

    async def _caller_name(self, session: CallSession) -> str | None:
        if session.direction is not Direction.INTERNAL:
            return None
        callers = [leg.extension for leg in session.legs.values() if leg.extension]
        caller = next((e for e in callers if e not in session.cards), None)
        return await self.name_of(session.account, caller)

    # end of call -----------------------------------------------------------------
    async def on_summary(self, session: CallSession) -> None:
        await self.refresh_cards(session)
        if session.talked_at is not None and session.client_number:
            await self.close_missed(session)
        if session.direction is Direction.INBOUND and session.answered is False:
            await self.alert_missed(session)
        await self.post_summary(session)

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
        await self.render_missed(missed)

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
        await self.render_missed(missed)
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

    async def render_missed(self, missed: MissedCall) -> None:
        """Queue every copy of the alert with its current state (open, taken or closed)."""
        names = [await self.name_of(missed.account, ext) or ext for ext in missed.rang]
        for chat_id, slot in missed.copies:
            t = await self.translator(chat_id)
            text = t(
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
            rows: list[tuple[Button, ...]] = []
            if missed.is_open and missed.client_number:
                first = [_button(t.label("calls.call_back"), MissedAction.CALL, missed.ref)]
                if missed.taken_by is None:
                    first.append(_button(t.label("calls.take"), MissedAction.TAKE, missed.ref))
                rows.append(tuple(first))
                last = [_button(t.label("calls.no_call_back"), MissedAction.DISMISS, missed.ref)]
                if await self._may_mark_spam(chat_id):
                    last += [
                        b for row in _spam_row(t, missed.account, missed.client_number) for b in row
                    ]
                rows.append(tuple(last))
            message = OutMessage(
                chat_id=chat_id,
                text=text,
                buttons=tuple(rows),
                late_note=t.label("calls.late"),
                about=f"{missed.account} {missed.call_id}",
            )
            await self.outbox.put(slot, message, Priority.MISSED)

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

    async def post_summary(self, session: CallSession) -> None:
        chats = await self.repos.subscriptions.chats(session.account, SubscriptionKind.SUMMARY)
        rang: list[str] = []
        if session.answered_by is None and session.direction is Direction.INBOUND:
            employee = None  # nobody took it: say whom it rang instead
            rang = [await self.name_of(session.account, ext) or ext for ext in session.rang]
        else:
            employee = await self.name_of(
                session.account, session.answered_by or (session.rang[0] if session.rang else None)
            )
        for chat_id in chats:
            t = await self.translator(chat_id)
            text = t(
                "call_summary",
                direction=session.direction.value,
                at=self.clock(session.started_at),
                client=display(session.client_number) if session.client_number else None,
                employee=employee,
                rang=rang,
                answered=bool(session.answered),
                talk=duration(session.talk_seconds),
                caller=await caller_view(session.caller, self._names(session.account)),
                **notes_view(t, session.notes, session.tags),
            )
            await self.outbox.put(
                summary_slot(session, chat_id),
                OutMessage(chat_id=chat_id, text=text, about=about(session)),
                Priority.SUMMARY,
            )

    # recordings ------------------------------------------------------------------
    async def on_recording(self, session: CallSession, event: RecordingEvent) -> list[int]:
        """Send the recording as a reply to the call's card, and in subscribed groups to
        its summary. Events of one call may be handled out of order: while that card or
        summary is still to come, the recording waits for it (see the sender). The chats
        it went to."""
        extension = event.extension or session.answered_by
        targets: dict[int, tuple[str, bool]] = {}  # chat -> (slot replied to, still coming)
        if extension:
            link = await self.repos.links.by_extension(session.account, extension)
            if link is not None:
                legs_to_come = not session.finished and session.leg_of(extension) is None
                coming = extension not in session.cards and legs_to_come
                slot = card_slot(session, extension)
                if extension not in session.cards:  # a call placed from Telegram: no card
                    slot = await self._command_slot(session, link.telegram_id) or slot
                targets[link.telegram_id] = (slot, coming)
        summarised = set(
            await self.repos.subscriptions.chats(session.account, SubscriptionKind.SUMMARY)
        )
        for chat_id in await self.repos.subscriptions.chats(
            session.account, SubscriptionKind.RECORDINGS
        ):
            coming = chat_id in summarised and not session.finished
            targets[chat_id] = (summary_slot(session, chat_id), coming)
        employee = await self.name_of(session.account, extension)
        for chat_id, (reply_to, coming) in targets.items():
            t = await self.translator(chat_id)
            caption = t(
                "recording_caption",
                at=self.clock(session.started_at or event.at),
                client=display(session.client_number) if session.client_number else None,
                employee=employee,
            )
            audio = AudioRef(
                account=session.account,
                recording_id=event.recording_id,
                title=display(session.client_number) if session.client_number else "",
            )
            await self.outbox.put(
                f"rec:{session.account}:{event.recording_id}:{chat_id}",
                OutMessage(
                    chat_id=chat_id,
                    text=caption,
                    audio=audio,
                    reply_to_slot=reply_to,
                    reply_to_coming=coming,
                    about=about(session),
                ),
                Priority.RECORDING,
            )
        return list(targets)

    async def _command_slot(self, session: CallSession, chat_id: int) -> str | None:
        """The slot of the message in ``chat_id`` that announced this call, when someone
        placed it from Telegram there (/call, "Call back")."""
        if session.command_id is None:
            return None
        pending = await self.repos.commands.get(session.command_id)
        report = pending.context.get("report") if pending else None
        if not isinstance(report, dict) or report.get("chat_id") != chat_id:
            return None
        slot = report.get("slot")
        return slot if isinstance(slot, str) and slot else None


def about(session: CallSession) -> str:
    """What a message about this call carries, so that a reply to it becomes a note."""
    return f"{session.account} {session.call_id}"


def card_slot(session: CallSession, extension: str) -> str:
    return f"card:{session.account}:{session.call_id}:{extension}"


def summary_slot(session: CallSession, chat_id: int) -> str:
    return f"summary:{session.account}:{session.call_id}:{chat_id}"


def _call_back(t: Translator, session: CallSession) -> tuple[tuple[Button, ...], ...]:
    """A "Call back" button for a card of an inbound call from a phone number."""
    number = session.client_number
    if session.direction is not Direction.INBOUND or not number or not number.startswith("+"):
        return ()
    data = DialCallback(action=DialAction.CALL, account=session.account, number=number[1:])
    return ((Button(text=t.label("calls.call_back"), callback_data=data.pack()),),)


def _spam_row(t: Translator, account: str, number: str | None) -> tuple[tuple[Button, ...], ...]:
    """A "Spam" button for a call from a phone number."""
    if not number or not number.startswith("+"):
        return ()
    data = SpamCallback(action=SpamAction.MARK, account=account, number=number[1:])
    return ((Button(text=t.label("calls.spam"), callback_data=data.pack()),),)


def _with_copies(missed: MissedCall, recipients: list[int]) -> list[tuple[int, str]]:
    """The alert's copies, one more in each recipient's chat that has none yet."""
    known = {chat for chat, _ in missed.copies}
    return missed.copies + [
        (chat, f"missed:{missed.ref}:{chat}") for chat in recipients if chat not in known
    ]


def _button(text: str, action: MissedAction, ref: str) -> Button:
    return Button(text=text, callback_data=MissedCallback(action=action, ref=ref).pack())
