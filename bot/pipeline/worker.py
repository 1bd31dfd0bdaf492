"""The event worker: applies each stored PBX event to its call session and decides what
people see. Run by :class:`~bot.pipeline.consumer.StreamConsumer` (at least once), so
everything here is idempotent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.events import (
    CallLegEvent,
    CallSummaryEvent,
    CommandResultEvent,
    DtmfEvent,
    PbxEvent,
    RecordingEvent,
    RecordingState,
    SmsStatusEvent,
)
from bot.log_context import log_fields
from bot.metrics import Metrics
from bot.pipeline.closing import CallCloser
from bot.pipeline.command_results import CommandResults
from bot.pipeline.consumer import handling
from bot.pipeline.identify import Identifier
from bot.pipeline.notify import Notifier
from bot.pipeline.sessions import CallSession, SessionStore
from bot.pipeline.stream import decode_event
from bot.services.call_log import CallLog
from bot.services.presence import Presence
from bot.services.transcripts import Transcripts

if TYPE_CHECKING:
    from bot.services.call_control import CallControl

log = logging.getLogger(__name__)


class EventWorker:
    """Handle one entry of the events stream."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionStore,
        notifier: Notifier,
        metrics: Metrics,
        call_log: CallLog,
        command_results: CommandResults | None = None,
        closer: CallCloser | None = None,
        identifier: Identifier | None = None,
        transcripts: Transcripts | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.notifier = notifier
        self.metrics = metrics
        self.call_log = call_log
        self.command_results = command_results
        self.closer = closer  # ends the calls of PBXs that send no summaries
        self.identifier = identifier  # who the caller is, and their calls before
        self.transcripts = transcripts  # what was said, under each recording
        self.presence: Presence | None = None  # who is on a call now
        self.call_control: CallControl | None = None  # results of actions taken on cards

    async def handle(self, entry_id: str, fields: dict[str, str]) -> None:
        event = decode_event(fields["event"])
        with log_fields(account=event.account, call=getattr(event, "call_id", None)):
            await self.process(event)
        self.metrics.events_processed.labels(event.kind).inc()

    async def handle_together(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        """Consumer handler for entries of one call that arrived while an earlier one was
        being handled: applied in order to the session, opened and saved once."""
        events = [decode_event(fields["event"]) for _, fields in entries]
        first = events[0]
        with log_fields(account=first.account, call=getattr(first, "call_id", None)):
            if all(_in_session(event) for event in events):
                await self._apply_together(events)
            else:  # one at a time; the consumer acknowledges them once all are done
                for event in events:
                    await self.process(event, acknowledge=False)
        for event in events:
            self.metrics.events_processed.labels(event.kind).inc()

    async def process(self, event: PbxEvent, *, acknowledge: bool = True) -> None:
        if _in_session(event):
            await self._apply_together([event], acknowledge=acknowledge)
        elif isinstance(event, RecordingEvent):
            await self._recording(event)
        if self.command_results is not None:
            if isinstance(event, CommandResultEvent):
                await self.command_results.on_result(event)
                if self.call_control is not None:
                    await self.call_control.on_result(event)
            elif isinstance(event, SmsStatusEvent):
                await self.command_results.on_sms_status(event)

    async def _apply_together(self, events: list[PbxEvent], *, acknowledge: bool = True) -> None:
        """Apply events of one call to its session in order, under one lock and one save.
        The save is the last effect: it acknowledges the stream entries too (what follows
        it, the address-book look-up, runs on its own)."""
        first = events[0]
        assert isinstance(first, CallLegEvent | CallSummaryEvent | DtmfEvent)
        account = self.settings.account(first.account)
        region = account.region if account else "RU"
        ask = False
        entry = handling() if acknowledge else None
        async with self.sessions.open(first.account, first.call_id, last_for=entry) as session:
            for event in events:
                ask = await self._apply(session, event, region) or ask
        if ask and self.identifier is not None:
            self.identifier.ask(session)

    async def _apply(self, session: CallSession, event: PbxEvent, region: str) -> bool:
        """Apply one event to its call's session and decide what people see; True when
        the caller must still be looked up in the address book."""
        ask = False
        if isinstance(event, CallLegEvent):
            if session.apply_leg(event, region):
                ask = await self._identify(session, event)
                await self.notifier.on_leg(session, event)
                if self.presence is not None:
                    self.presence.follow(session)
                await self.call_log.record(session, batch=session.writes)
                if self.closer is not None:
                    await self.closer.watch(session)
        elif isinstance(event, CallSummaryEvent):
            session.apply_summary(event, region)
            ask = await self._identify(session)
            await self.notifier.on_summary(session)
            if self.presence is not None:
                self.presence.follow(session)
            await self.call_log.record(session, batch=session.writes)
        elif isinstance(event, DtmfEvent) and session.menu != event.digits:
            session.menu = event.digits
            await self.redraw(session)
        return ask

    async def _identify(self, session: CallSession, event: CallLegEvent | None = None) -> bool:
        if self.identifier is None:
            return False
        return await self.identifier.prepare(session, event)

    async def redraw(self, session: CallSession) -> None:
        """Draw every message of the call again with what the session knows now."""
        await self.notifier.redraw(session)
        await self.call_log.record(session, batch=session.writes)

    async def _recording(self, event: RecordingEvent) -> None:
        if event.state is not RecordingState.COMPLETED or event.call_id is None:
            return
        if not event.succeeded:
            log.info("recording %s ended with code %s", event.recording_id, event.completion_code)
            return
        async with self.sessions.open(event.account, event.call_id) as session:
            if event.emailed_only:  # no copy to fetch: no polling, no transcript
                await self.notifier.on_recording(session, event)
                return
            if event.recording_id not in session.recordings:
                session.recordings.append(event.recording_id)
            chats = await self.notifier.on_recording(session, event)
            await self.call_log.record(session, batch=session.writes)
        if self.transcripts is not None:
            await self.transcripts.expect(event.account, event.recording_id, chats)


def _in_session(event: PbxEvent) -> bool:
    """Events that change a call's session: its legs, its summary, its menu choice."""
    return isinstance(event, CallLegEvent | CallSummaryEvent) or (
        isinstance(event, DtmfEvent) and _in_menu(event)
    )


def _in_menu(event: DtmfEvent) -> bool:
    """Digits pressed in the voice menu (not, say, during a talk)."""
    return event.location is None or event.location.startswith("ivr")
