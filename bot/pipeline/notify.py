"""Notification decisions: what people should see for each call event.

Every decision is written as the full content of an outbox slot, rendered from the call
session, so running a decision twice (a redelivered event) queues nothing new.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bot.domain import SubscriptionKind
from bot.events import CallLegEvent, Direction, LegState, RecordingEvent
from bot.formatting import duration
from bot.pbx.base import Provider
from bot.phones import display
from bot.pipeline.caller_view import (
    caller_view,
    context_view,
    menu_view,
    notes_view,
    tag_label,
)
from bot.pipeline.card_controls import action_line, control_rows
from bot.pipeline.missed_alerts import MissedAlerts
from bot.pipeline.notify_base import spam_row
from bot.pipeline.sessions import CallSession
from bot.services.call_log import call_ref
from bot.telegram.callbacks import DialAction, DialCallback, TagCallback, packed
from bot.telegram.outbox import AudioRef, Button, OutMessage, Priority
from bot.texts import Translator

CARD_DIRECTIONS = {Direction.INBOUND, Direction.INTERNAL}
CARD_TEXTS_KEPT = 256  # card texts drawn lately, kept for cards that show the same


class Notifier(MissedAlerts):
    """Turn call sessions into outbox slots: cards, missed alerts, summaries, recordings."""

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
        if session.talked_at is not None and session.client_number and not session.missed_closed:
            await self.close_missed(session)  # once while it goes on, again at its end
            session.missed_closed = True
        if session.finished:
            # The summary was handled before this leg: decide the end of the call again
            # with what is known now (nothing already shown is queued twice).
            await self.on_summary(session)

    async def refresh_cards(self, session: CallSession) -> None:
        if not session.cards:
            return
        # What every card of the call shows alike, worked out once for all of them (and
        # what the caller is, once per language).
        client = display(session.client_number) if session.client_number else None
        caller_name = await self._caller_name(session)
        line = display(session.line_number) if session.line_number else None
        groups = await self.directory.group_names(session.account)
        group = groups.get(session.group or "", session.group)
        colleague = await self.name_of(session.account, session.answered_by)
        about_caller: dict[str, dict[str, Any]] = {}
        for extension, chat_id in session.cards.items():
            t = await self.translator(chat_id)
            state = self._card_state(session, extension)
            acting, acting_state = await self._acting_side(session, extension, state, chat_id)
            caller = about_caller.get(t.language.value)
            if caller is None:
                caller = about_caller[t.language.value] = await self._about_caller(t, session)
            view = {
                "state": state,
                "client": client,
                "caller_name": caller_name,
                "line": line,
                "group": group,
                "colleague": colleague,
                "talk": duration(self._talk_shown(session, extension)),
                "comment": session.comment,
                "action": await action_line(
                    t, session, acting, self._names(session.account), self._person
                ),
                **caller,
            }
            closing = session.finished and state in ("missed", "ended")
            manager_row = (
                closing and not session.spam and await self._shows_manager_buttons(chat_id)
            )
            slot = card_slot(session, extension)
            # What the card would show follows from these alone: the same again draws
            # nothing (the template, its buttons and the message cost most of an event).
            shown = repr(view)  # what the template is given, as text: compared, not parsed
            drawn = self._drawn(t, chat_id, shown, session, acting, acting_state, manager_row)
            if session.drawn.get(slot) == drawn:
                continue
            priority = Priority.RINGING if state == "ringing" else Priority.MISSED
            buttons = _call_back(t, session) if state in ("missed", "ended") else ()
            buttons += control_rows(t, session, acting, acting_state, self._provider(session))
            if closing:
                buttons += self._tag_buttons(t, session)
                if manager_row:
                    buttons += spam_row(t, session.account, session.client_number)
            text = self._card_text(t, view, shown)
            await self.outbox.put(
                slot,
                OutMessage(chat_id=chat_id, text=text, buttons=buttons, about=about(session)),
                priority,
                shown=session.shown,
                batch=session.writes,
            )
            session.drawn[slot] = drawn

    def _card_text(self, t: Translator, view: dict[str, Any], shown: str) -> str:
        """The card template drawn with ``view``. The cards of a ring group mostly show the
        same (all ringing, all no longer ringing, all missed), one event after another: a
        text drawn lately is reused (the template gives the same text for the same values)."""
        key = (t.language.value, shown)
        text = self._card_texts.get(key)
        if text is None:
            text = t("card", **view)
            if len(self._card_texts) >= CARD_TEXTS_KEPT:
                del self._card_texts[next(iter(self._card_texts))]  # the oldest
            self._card_texts[key] = text
        return text

    def _drawn(
        self,
        t: Translator,
        chat_id: int,
        shown: str,
        session: CallSession,
        acting: str,
        acting_state: str,
        manager_row: bool,
    ) -> str:
        """A digest of everything a card is drawn from: its template's values (``shown``,
        their ``repr``), what its buttons depend on, and this process's drawing (templates
        and settings as loaded)."""
        account = self.settings.account(session.account)
        inputs = (
            self._drawing,
            t.language,
            chat_id,
            session.account,
            session.call_id,
            session.direction,
            session.client_number,
            session.finished,
            session.spam,
            tuple(session.tags),
            acting,
            acting_state,
            session.actions.get(acting),
            manager_row,
            tuple(account.tags) if account is not None else (),
        )
        return hashlib.blake2b((repr(inputs) + shown).encode(), digest_size=8).hexdigest()

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

    def _tag_buttons(self, t: Translator, session: CallSession) -> tuple[tuple[Button, ...], ...]:
        """The account's outcome tags, a tick on those set; four to a row."""
        account = self.settings.account(session.account)
        if account is None or not account.tags:
            return ()
        ref = call_ref(session.account, session.call_id)
        buttons = [
            Button(
                text=("✓ " if tag in session.tags else "") + tag_label(t, tag),
                callback_data=packed(TagCallback, ref=ref, tag=index),
            )
            for index, tag in enumerate(account.tags)
        ]
        return tuple(tuple(buttons[i : i + 4]) for i in range(0, len(buttons), 4))

    async def redraw(self, session: CallSession) -> None:
        """Something about the call changed outside its events (the caller's name, the menu
        choice, a note or tag): draw its messages again; a missed call's alert also reaches
        a personal manager learnt meanwhile."""
        await self.refresh_cards(session)
        if not session.finished:
            return
        if session.direction is Direction.INBOUND and session.answered is False:
            await self.alert_missed(session)
        await self.post_summary(session)

    async def _acting_side(
        self, session: CallSession, extension: str, state: str, chat_id: int
    ) -> tuple[str, str]:
        """Whose side of the call a card acts on, and that side's state: the card's own,
        but a manager's card of a call a colleague answered acts on the colleague's."""
        other = session.answered_by
        if state != "colleague" or other is None or session.finished:
            return extension, state
        if chat_id < 0 or not await self._shows_manager_buttons(chat_id):
            return extension, state
        return other, self._card_state(session, other)

    def _provider(self, session: CallSession) -> Provider | None:
        return self.providers.get(session.account) if self.providers is not None else None

    async def _person(self, telegram_id: int) -> str | None:
        user = await self.repos.users.get(telegram_id)
        return user.first_name or user.display_name if user else None

    def _card_state(self, session: CallSession, extension: str) -> str:
        leg = session.leg_of(extension)
        talked = leg is not None and leg.connected_at is not None
        if session.answered_by == extension or talked:
            if leg is not None and leg.state is LegState.ON_HOLD:
                return "on_hold"
            if session.finished or (leg is not None and leg.state is LegState.DISCONNECTED):
                return "ended"
            return "talking"
        if session.answered_by is not None:
            handed_over = (
                leg is not None
                and leg.state is LegState.RINGING
                and session.answered_at is not None
                and leg.started_at > session.answered_at
            )
            return "ringing" if handed_over and not session.finished else "colleague"
        if session.finished:
            return "missed"
        if leg is not None and leg.state is LegState.DISCONNECTED:
            return "stopped"
        return "ringing"

    def _talk_shown(self, session: CallSession, extension: str) -> int:
        """The call's talk time; the employee's own part when it was passed between them."""
        if len(session.talkers) > 1:
            return self._talk_of(session, extension)
        return session.talk_seconds or self._talk_of(session, extension)

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

    async def post_summary(self, session: CallSession) -> None:
        chats = await self.repos.subscriptions.chats(session.account, SubscriptionKind.SUMMARY)
        rang: list[str] = []
        if session.answered_by is None and session.direction is Direction.INBOUND:
            employee = None  # nobody took it: say whom it rang instead
            rang = [await self.name_of(session.account, ext) or ext for ext in session.rang]
        else:
            employee = await self.name_of(session.account, session.employee)
            if len(session.talkers) > 1:  # passed on: everyone who talked, in turn
                employee = " → ".join(
                    [await self.name_of(session.account, ext) or ext for ext in session.talkers]
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
                comment=session.comment,
                caller=await caller_view(session.caller, self._names(session.account)),
                **notes_view(t, session.notes, session.tags),
            )
            await self.outbox.put(
                summary_slot(session, chat_id),
                OutMessage(chat_id=chat_id, text=text, about=about(session)),
                Priority.SUMMARY,
                shown=session.shown,
                batch=session.writes,
            )

    # recordings ------------------------------------------------------------------
    async def on_recording(self, session: CallSession, event: RecordingEvent) -> list[int]:
        """Send the recording as a reply to the call's card, and in subscribed groups to
        its summary. Events of one call may be handled out of order: while that card or
        summary is still to come, the recording waits for it (see the sender). The chats
        it went to. A recording the PBX sent to e-mail only is told of there, in words."""
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
                "recording_emailed" if event.emailed_only else "recording_caption",
                at=self.clock(session.started_at or event.at),
                client=display(session.client_number) if session.client_number else None,
                employee=employee,
            )
            # A recording sent to e-mail only has nothing to fetch: the caption says so.
            audio = (
                None
                if event.emailed_only
                else AudioRef(
                    account=session.account,
                    recording_id=event.recording_id,
                    title=display(session.client_number) if session.client_number else "",
                )
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
                batch=session.writes,
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
    data = packed(DialCallback, action=DialAction.CALL, account=session.account, number=number[1:])
    return ((Button(text=t.label("calls.call_back"), callback_data=data),),)
