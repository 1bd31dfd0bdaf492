"""Acting on a call from its card: transfer, hang up, record, or send a ringing call to
one's mobile or to a colleague.

Use :meth:`CallControl.act` from handlers: it checks rights, the call's state and the
person's limit, notes the action on the call (every card shows it), sends the PBX command,
and raises :class:`~bot.services.dialing.Refusal` when nothing was sent. The PBX's later
result reaches :meth:`CallControl.on_result` (the event worker) and the card says how it
ended. One action at a time per side of a call: a double tap sends one command.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import parse
from redis.asyncio import Redis

from bot.config import Settings
from bot.domain import CommandTicket, Link, Role
from bot.events import CommandResultEvent, Direction, LegState
from bot.pbx.base import Capability, NoAnswer, PbxError, Provider, Side
from bot.pbx.providers import Providers
from bot.pbx.registry import pbx_name
from bot.pipeline.notify import Notifier
from bot.pipeline.sessions import (
    ActionKind,
    ActionState,
    CallSession,
    CardAction,
    Leg,
    SessionStore,
)
from bot.ratelimit import SharedRateLimiter
from bot.services.dialing import Refusal, period
from bot.storage import Keys
from bot.storage.commands import PENDING_TTL, CommandRepository
from bot.telegram.identity import Identity
from bot.texts import Translator

ACTION_COMMANDS = frozenset({"transfer", "route", "call/hangup", "recording/start"})
PLACING_PATIENCE = 30.0  # seconds an action being placed blocks another one on that side
LIVE = (LegState.CONNECTED, LegState.ON_HOLD)
NEEDS = {
    ActionKind.TRANSFER: Capability.TRANSFER,
    ActionKind.CONSULT: Capability.CONSULT_TRANSFER,
    ActionKind.HANGUP: Capability.HANGUP,
    ActionKind.RECORD: Capability.RECORD,
    ActionKind.MOBILE: Capability.ROUTE,
    ActionKind.ROUTE: Capability.ROUTE,
}
RINGING_ACTIONS = frozenset({ActionKind.MOBILE, ActionKind.ROUTE})


@dataclass(frozen=True)
class CallSide:
    """One employee's side of one call: what a card's buttons act on."""

    account: str
    call_id: str
    extension: str


class CallControl:
    """Send call-control commands for people and follow their results on the cards."""

    def __init__(
        self,
        *,
        redis: Redis,
        keys: Keys,
        settings: Settings,
        sessions: SessionStore,
        providers: Providers,
        limiter: SharedRateLimiter,
        commands: CommandRepository,
        notifier: Notifier,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings
        self._sessions = sessions
        self._providers = providers
        self._limiter = limiter
        self._commands = commands
        self._notifier = notifier
        self._limit = parse(settings.call_limit)

    # who may do what -------------------------------------------------------------
    def link_for(self, t: Translator, identity: Identity, side: CallSide) -> Link:
        """The presser's link to the call's account if they may act on this side of the
        call: it is theirs, or they manage the account; else a Refusal."""
        link = acting_link(identity, side)
        if link is None:
            raise Refusal(t.label("control.not_yours"))
        return link

    def provider(self, t: Translator, account: str, kind: ActionKind) -> Provider:
        """The account's provider if it can do ``kind``; else a Refusal in words."""
        provider = self._providers.get(account)
        if provider is not None and provider.supports(NEEDS[kind]):
            return provider
        name = pbx_name(self._settings.account(account))
        raise Refusal(t.label(f"control.unsupported.{kind.value}", pbx=name))

    async def session(self, t: Translator, side: CallSide) -> CallSession:
        session = await self._sessions.get(side.account, side.call_id)
        if session is None:
            raise Refusal(t.label("notices.call_gone"))
        return session

    # acting ----------------------------------------------------------------------
    async def act(
        self,
        t: Translator,
        identity: Identity,
        side: CallSide,
        kind: ActionKind,
        target: str = "",
    ) -> None:
        """Carry out ``kind`` on ``side`` (``target``: an extension or an E.164 number for
        transfers and routes); Refusal (with the sentence) when nothing was sent."""
        self.link_for(t, identity, side)
        provider = self.provider(t, side.account, kind)
        await self.take_turn(t, identity.telegram_id)
        action = CardAction(kind=kind, by=identity.telegram_id, target=target, at=time.time())
        async with self._sessions.open(side.account, side.call_id) as session:
            leg = _leg_for(t, session, side.extension, kind)
            current = session.actions.get(side.extension)
            if (
                current is not None
                and current.state is ActionState.PLACING
                and time.time() - current.at < PLACING_PATIENCE
            ):
                raise Refusal(t.label("calls.already_placing"))
            session.actions[side.extension] = action
            if kind is ActionKind.MOBILE:
                session.forwarded[target] = side.extension
            await self._notifier.refresh_cards(session)
            direction = session.direction
        try:
            ticket = await self._send(provider, kind, leg, side, target, direction)
        except NoAnswer as exc:
            await self._update(side, action, state=ActionState.UNANSWERED, ticket=exc.ticket)
            if exc.ticket is not None:
                await self._follow(exc.ticket, side)
            return
        except PbxError as exc:
            await self._update(side, action, state=ActionState.FAILED, reason=exc.message_key)
            return
        await self._update(side, action, ticket=ticket)
        await self._follow(ticket, side)

    async def take_turn(self, t: Translator, telegram_id: int) -> None:
        """Count one call action against the person's limit; Refusal when it is spent."""
        item = self._limit
        if await self._limiter.try_acquire(item, "user", "control", str(telegram_id)):
            return
        raise Refusal(t.label("control.limited", amount=item.amount, period=period(t, item)))

    async def _send(
        self,
        provider: Provider,
        kind: ActionKind,
        leg: Leg,
        side: CallSide,
        target: str,
        direction: Direction,
    ) -> CommandTicket:
        to = target.lstrip("+")
        if kind in (ActionKind.TRANSFER, ActionKind.CONSULT):
            consult = kind is ActionKind.CONSULT
            return await provider.transfer(leg.leg_id, to, consult=consult, side=_side(direction))
        if kind is ActionKind.HANGUP:
            return await provider.hangup(leg.leg_id)
        if kind is ActionKind.RECORD:
            return await provider.start_recording(leg.leg_id, side.extension)
        return await provider.route(leg.leg_id, to)

    async def _update(
        self,
        side: CallSide,
        action: CardAction,
        *,
        state: ActionState | None = None,
        reason: str | None = None,
        ticket: CommandTicket | None = None,
    ) -> None:
        """Change ``action`` on the call if it is still the side's latest; redraw."""
        async with self._sessions.open(side.account, side.call_id) as session:
            current = session.actions.get(side.extension)
            if current is None or current.at != action.at or current.by != action.by:
                return  # a newer action took its place
            update: dict[str, object] = {}
            if ticket is not None:
                update["command_id"] = ticket.command_id
            if state is not None and not current.settled:
                update["state"] = state
                update["reason"] = reason
            session.actions[side.extension] = current.model_copy(update=update)
            await self._notifier.refresh_cards(session)

    # results ---------------------------------------------------------------------
    async def _follow(self, ticket: CommandTicket, side: CallSide) -> None:
        """Remember the command's call; show a result that came first."""
        await self._commands.remember(
            ticket,
            action={"account": side.account, "call_id": side.call_id, "ext": side.extension},
        )
        await self._settle(ticket.command_id)

    async def on_result(self, event: CommandResultEvent) -> None:
        """The PBX carried out (or refused) a call-control command."""
        if event.command not in ACTION_COMMANDS:
            return
        key = self._outcome_key(event.command_id)
        value = f"{int(event.success)} {event.message_key}"
        await self._redis.set(key, value, ex=PENDING_TTL)
        await self._settle(event.command_id)

    def _outcome_key(self, command_id: str) -> str:
        return f"{self._keys.pending_command(command_id)}:action"

    async def _settle(self, command_id: str) -> None:
        pending = await self._commands.get(command_id)
        about = pending.context.get("action") if pending else None
        outcome = await self._redis.get(self._outcome_key(command_id))
        if not isinstance(about, dict) or not outcome:
            return  # not ours, or the other half has not arrived yet
        success, _, message_key = str(outcome).partition(" ")
        side = CallSide(about["account"], about["call_id"], about["ext"])
        if await self._sessions.get(side.account, side.call_id) is None:
            return
        async with self._sessions.open(side.account, side.call_id) as session:
            current = session.actions.get(side.extension)
            if current is None or current.command_id != command_id or current.settled:
                return
            accepted = success == "1"
            session.actions[side.extension] = current.model_copy(
                update={
                    "state": ActionState.ACCEPTED if accepted else ActionState.FAILED,
                    "reason": None if accepted else message_key,
                }
            )
            await self._notifier.refresh_cards(session)


def acting_link(identity: Identity, side: CallSide) -> Link | None:
    """The person's link through which they may act on ``side``: their own side of a call,
    or any side of a call of an account they manage."""
    link = next((x for x in identity.links if x.account == side.account), None)
    if link is None:
        return None
    if link.extension == side.extension or identity.has_role(Role.MANAGER):
        return link
    return None


def _side(direction: Direction) -> Side:
    """The employee's field of the call: ``from`` of an outbound call, else ``to``."""
    return "from" if direction is Direction.OUTBOUND else "to"


def _leg_for(t: Translator, session: CallSession, extension: str, kind: ActionKind) -> Leg:
    """The employee's leg ``kind`` acts on, or a Refusal: the call has moved on."""
    leg = session.leg_of(extension)
    if leg is None or session.finished:
        raise Refusal(t.label("control.moved_on"))
    if kind in RINGING_ACTIONS:
        if leg.state is not LegState.RINGING or session.answered_by is not None:
            raise Refusal(t.label("control.moved_on"))
    elif leg.state not in LIVE:
        raise Refusal(t.label("control.moved_on"))
    return leg
