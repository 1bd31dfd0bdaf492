"""Caller identity and context for each call, without ever delaying its card.

The worker calls :meth:`Identifier.prepare` inside a session's lock: once per call it
notes what is known at once (cached address-book answers, the PBX's caller name, the
phonebook) and the context line. Where the PBX's address book must still be asked, the
worker calls :meth:`Identifier.ask` after the session is saved: the look-up runs in the
background, and when it brings a name, every card, alert and summary of the call is
drawn again with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.events import CallLegEvent, Direction
from bot.pipeline.sessions import CallSession, SessionStore
from bot.services.call_context import CallContexts
from bot.services.caller_identity import CallerIdentity
from bot.services.missed_calls import MissedCalls

log = logging.getLogger(__name__)

Redraw = Callable[[CallSession], Awaitable[None]]


class Identifier:
    """Give calls from clients their caller's identity and context."""

    def __init__(
        self,
        redis: Redis,
        identity: CallerIdentity,
        contexts: CallContexts,
        sessions: SessionStore,
        redraw: Redraw,
        missed: MissedCalls,
    ) -> None:
        self.redis = redis
        self.identity = identity
        self.contexts = contexts
        self.missed = missed
        self.sessions = sessions
        self.redraw = redraw
        self._tasks: set[asyncio.Task[None]] = set()

    async def prepare(self, session: CallSession, event: CallLegEvent | None = None) -> bool:
        """Fill in what is known at once; True when the address book must still be asked
        (then call :meth:`ask` once the session is saved)."""
        if session.identified or not _from_client(session):
            return False
        assert session.client_number is not None
        session.identified = True
        account, number = session.account, session.client_number
        at = session.started_at or datetime.now(UTC)
        # Read at once, in one round trip: the card waits for these.
        async with self.redis.pipeline(transaction=False) as pipe:
            identity = _queued(pipe, lambda: self.identity.queue_known(pipe, account, number))
            spam = _queued(pipe, lambda: self.missed.queue_is_spam(pipe, account, number))
            context = _queued(pipe, lambda: self.contexts.queue_of(pipe, account, number, at))
            answers = await pipe.execute()
        known = self.identity.known_from(account, _pbx_name(session, event), answers[identity])
        [session.spam] = [bool(answer) for answer in answers[spam]]
        session.context = await self.contexts.of_answers(account, session.call_id, answers[context])
        session.caller = known.caller
        return known.ask_address_book

    def ask(self, session: CallSession) -> None:
        """Look the caller up in the PBX's address book in the background."""
        assert session.client_number is not None
        task = asyncio.create_task(
            self._look_up(session.account, session.call_id, session.client_number)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _look_up(self, account: str, call_id: str, number: str) -> None:
        try:
            caller = await self.identity.look_up(account, number)
            if caller is None:
                return  # the other sources were read when the call was first seen
            async with self.sessions.open(account, call_id) as session:
                if session.caller == caller:
                    return
                session.caller = caller
                await self.redraw(session)
        except Exception:  # a background task: its failure must not go unseen
            log.exception("caller look-up of a call of %s failed", account)

    @property
    def pending(self) -> int:
        """Look-ups in progress."""
        return len(self._tasks)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _queued(pipe: Pipeline, queue: Callable[[], None]) -> slice:
    """Where the answers of the reads ``queue`` adds to ``pipe`` will be."""
    before = len(pipe.command_stack)
    queue()
    return slice(before, len(pipe.command_stack))


def _from_client(session: CallSession) -> bool:
    return (
        session.direction in (Direction.INBOUND, Direction.OUTBOUND)
        and bool(session.client_number)
        and str(session.client_number).startswith("+")
    )


def _pbx_name(session: CallSession, event: CallLegEvent | None) -> str | None:
    if event is None:
        return None
    party = event.caller if session.direction is Direction.INBOUND else event.callee
    return party.name if party.number else None
