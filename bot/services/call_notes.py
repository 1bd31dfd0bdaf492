"""Notes and outcome tags on calls: what people add after the fact.

Use :meth:`CallNotes.add_note` for a reply to a card, alert or summary, and
:meth:`CallNotes.toggle_tag` for a tag button. While the call's session lives, every
message of the call is drawn again with the change; afterwards, the call log's entry
keeps it (notes live as long as the call log keeps the call).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain import CallNote
from bot.pipeline.notify import Notifier
from bot.pipeline.sessions import CallSession, SessionStore
from bot.services.call_log import CallLog

NOTE_LIMIT = 1000  # characters of one note
Change = Callable[[list[CallNote], list[str]], tuple[list[CallNote], list[str]]]


class CallNotes:
    """Attach notes and tags to calls, and show them wherever the call is shown."""

    def __init__(self, sessions: SessionStore, call_log: CallLog, notifier: Notifier) -> None:
        self._sessions = sessions
        self._call_log = call_log
        self._notifier = notifier

    async def add_note(self, account: str, call_id: str, note: CallNote) -> bool:
        """False when pbxgram no longer knows the call."""
        note = note.model_copy(update={"text": note.text.strip()[:NOTE_LIMIT]})

        def change(notes: list[CallNote], tags: list[str]) -> tuple[list[CallNote], list[str]]:
            return [*notes, note], tags

        return await self._change(account, call_id, change) is not None

    async def toggle_tag(
        self, account: str, call_id: str, tag: str, order: list[str]
    ) -> list[str] | None:
        """Set ``tag``, or take it off if it was set; the call's tags (in ``order``, the
        account's), None if the call is unknown."""

        def change(notes: list[CallNote], tags: list[str]) -> tuple[list[CallNote], list[str]]:
            chosen = set(tags) ^ {tag}
            return notes, [t for t in order if t in chosen] + sorted(chosen - set(order))

        return await self._change(account, call_id, change)

    async def _change(self, account: str, call_id: str, change: Change) -> list[str] | None:
        if await self._sessions.get(account, call_id) is not None:
            async with self._sessions.open(account, call_id) as session:
                session.notes, session.tags = change(session.notes, session.tags)
                await self.redraw(session)
                return list(session.tags)
        logged = await self._call_log.get(account, call_id)
        if logged is None:
            return None
        notes, tags = change(logged.notes, logged.tags)
        await self._call_log.rewrite(logged.model_copy(update={"notes": notes, "tags": tags}))
        return tags

    async def redraw(self, session: CallSession) -> None:
        """Draw every message of the call again, and log what it now shows."""
        await self._notifier.redraw(session)
        await self._call_log.record(session)
