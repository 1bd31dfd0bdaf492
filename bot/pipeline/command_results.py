"""Results of the commands people start from Telegram (a call, an SMS), shown by editing
the message that announced the command.

The handler sends its answer, :meth:`CommandResults.adopt` makes that message an outbox
slot, and :meth:`CommandResults.track` remembers the PBX ticket with a
:class:`CommandReport`. The worker hands every :class:`~bot.events.CommandResultEvent` and
:class:`~bot.events.SmsStatusEvent` to :meth:`CommandResults.on_result` and
:meth:`CommandResults.on_sms_status`.

A result may overtake the handler (the PBX answers while the ticket is being stored), and
an SMS may be reported delivered before it is reported accepted. So each outcome is stored
before the pending command is read, the pending command is stored before the outcomes are
read, and the message is always rendered from everything known: whoever comes last shows
the whole story, and a redelivered event queues nothing new.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from bot.domain import CommandTicket, Language
from bot.events import CommandResultEvent, SmsStatusEvent
from bot.formatting import reason
from bot.phones import display
from bot.storage.commands import PENDING_TTL, CommandRepository
from bot.storage.keys import Keys
from bot.telegram.outbox import Outbox, OutMessage, Priority
from bot.texts import Texts, Translator

REPORTED_COMMANDS = frozenset({"callback", "callback_group", "sms"})


class CommandKind(StrEnum):
    CALL = "call"
    SMS = "sms"
    GROUP_CALL = "group_call"  # a group calls a number (``extension``: the group's name)
    CALL_RETURN = "call_return"  # the last caller (``number`` unknown)
    REDIAL = "redial"  # the last number dialled (``number`` unknown)


TEMPLATES = {
    CommandKind.CALL: "call_status",
    CommandKind.SMS: "sms_status",
    CommandKind.GROUP_CALL: "group_call_status",
    CommandKind.CALL_RETURN: "call_return_status",
    CommandKind.REDIAL: "call_return_status",
}


class CommandReport(BaseModel):
    """Where a command in flight is shown, and what it is about."""

    model_config = ConfigDict(frozen=True)

    kind: CommandKind
    chat_id: int
    slot: str
    language: Language
    extension: str
    number: str  # E.164
    text: str = ""  # the SMS


class Outcome(BaseModel):
    """What the PBX said at one stage: the command's result, or the SMS delivery."""

    model_config = ConfigDict(frozen=True)

    code: int
    success: bool
    message_key: str


class Progress(BaseModel):
    """Everything known about a command so far."""

    model_config = ConfigDict(frozen=True)

    result: Outcome | None = None
    delivery: Outcome | None = None


def render(t: Translator, report: CommandReport, progress: Progress) -> str:
    """The message for ``report`` given what the PBX has said (nothing yet: the start)."""
    state, outcome = _state(report, progress)
    why = reason(t, outcome.message_key) if outcome and not outcome.success else None
    return _text(t, report, state, why)


def render_refusal(t: Translator, report: CommandReport, why: str) -> str:
    """The message for a command the PBX refused at once, ``why`` being the sentence."""
    return _text(t, report, "failed", why)


def render_unanswered(t: Translator, report: CommandReport) -> str:
    """The message for a command the PBX did not answer in time: it may still happen."""
    return _text(t, report, "unanswered", None)


def _state(report: CommandReport, progress: Progress) -> tuple[str, Outcome | None]:
    result, delivery = progress.result, progress.delivery
    if report.kind is CommandKind.SMS and delivery is not None:
        return ("delivered" if delivery.success else "undelivered"), delivery
    if result is None:
        return ("sending" if report.kind is CommandKind.SMS else "placing"), None
    return ("accepted" if result.success else "failed"), result


def _text(t: Translator, report: CommandReport, state: str, why: str | None) -> str:
    return t(
        TEMPLATES[report.kind],
        kind=report.kind.value,
        state=state,
        reason=why,
        extension=report.extension,
        number=display(report.number),
        text=report.text,
    )


class CommandResults:
    """Show how commands started from Telegram ended, in the message that announced them."""

    def __init__(
        self, redis: Redis, keys: Keys, commands: CommandRepository, outbox: Outbox, texts: Texts
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._commands = commands
        self._outbox = outbox
        self._texts = texts

    @staticmethod
    def slot(chat_id: int, message_id: int) -> str:
        return f"command:{chat_id}:{message_id}"

    async def adopt(self, chat_id: int, message_id: int, text: str) -> str:
        """Make a message the handler sent (showing ``text``) editable; its slot name."""
        slot = self.slot(chat_id, message_id)
        await self._outbox.adopt(slot, chat_id, message_id, OutMessage(chat_id=chat_id, text=text))
        return slot

    async def show(self, report: CommandReport, text: str) -> None:
        """Edit the command's message to ``text`` now (a refusal before any ticket)."""
        await self._outbox.put(
            report.slot, OutMessage(chat_id=report.chat_id, text=text), Priority.RINGING
        )

    async def track(self, ticket: CommandTicket, report: CommandReport) -> None:
        """Wait for the PBX to report on ``ticket``; show what it already did report."""
        await self._commands.remember(ticket, report=report.model_dump(mode="json"))
        await self._refresh(ticket.command_id)

    async def on_result(self, event: CommandResultEvent) -> None:
        """The PBX accepted or refused a command."""
        if event.command not in REPORTED_COMMANDS:
            return
        outcome = Outcome(code=event.code, success=event.success, message_key=event.message_key)
        await self._store(event.command_id, "result", outcome)

    async def on_sms_status(self, event: SmsStatusEvent) -> None:
        """An SMS was delivered, or why it was not."""
        outcome = Outcome(code=event.code, success=event.delivered, message_key=event.message_key)
        await self._store(event.command_id, "delivery", outcome)

    def _outcomes_key(self, command_id: str) -> str:
        return f"{self._keys.pending_command(command_id)}:outcomes"

    async def _store(self, command_id: str, stage: str, outcome: Outcome) -> None:
        key = self._outcomes_key(command_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, stage, outcome.model_dump_json())
            pipe.expire(key, PENDING_TTL)
            await pipe.execute()
        await self._refresh(command_id)

    async def _refresh(self, command_id: str) -> None:
        """Render the command's message from everything known (one renderer at a time)."""
        lock = self._redis.lock(
            f"{self._keys.pending_command(command_id)}:lock", timeout=30, blocking_timeout=30
        )
        async with lock:
            pending = await self._commands.get(command_id)
            if pending is None or "report" not in pending.context:
                return  # not a command started from a chat (or long forgotten)
            stored = await self._redis.hgetall(self._outcomes_key(command_id))
            if not stored:
                return  # the message still shows the start, which is right
            report = CommandReport.model_validate(pending.context["report"])
            progress = Progress.model_validate(
                {stage: Outcome.model_validate_json(raw) for stage, raw in stored.items()}
            )
            text = render(self._texts.bind(report.language), report, progress)
            await self.show(report, text)
