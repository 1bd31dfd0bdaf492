"""What was set aside: the dead letters of the events stream and of the outbox.

A dead letter is named ``events:<entry id>`` or ``outbox:<entry id>``. A replay puts it
back where it came from (the events stream, or the outbox stream of its priority) and
removes it from the dead letters; a drop only removes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from bot.errors import PbxgramError
from bot.pipeline.stream import STREAM_MAXLEN
from bot.storage import Keys

# Fields the dead-lettering adds to the original entry's.
ADDED = ("source_id", "source", "deliveries", "reason")


@dataclass(frozen=True)
class DeadLetter:
    """One set-aside entry, as stored in its dead-letter stream."""

    kind: str  # "events" or "outbox"
    stream: str  # the dead-letter stream
    entry_id: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.entry_id}"

    @property
    def failed_at(self) -> datetime:
        """When it was set aside (from its stream entry id)."""
        return datetime.fromtimestamp(int(self.entry_id.split("-")[0]) / 1000, UTC)

    @property
    def refused(self) -> bool:
        """A message Telegram refused at once (not one redelivered until it gave up)."""
        return "chat_id" in self.fields

    @property
    def reason(self) -> str:
        if "reason" in self.fields:
            return self.fields["reason"]
        return f"failed {self.fields['deliveries']} times" if "deliveries" in self.fields else "?"

    @property
    def slot_key(self) -> str | None:
        """The outbox slot (its hash key) a message letter is about."""
        return self.fields.get("slot_key") or (None if self.refused else self.fields.get("slot"))

    def what(self) -> str:
        """One line: what the entry was."""
        if self.kind == "events":
            return _event_summary(self.fields.get("event", ""))
        chat = self.fields.get("chat_id") or self.fields.get("chat") or "?"
        slot = self.fields["slot"].rsplit(":slot:", 1)[-1] if "slot" in self.fields else "?"
        return f"message for chat {chat} (slot {slot})"


def _text(fields: Any) -> dict[str, str]:
    return {str(name): str(value) for name, value in (fields or {}).items()}


def _event_summary(raw: str) -> str:
    try:
        event: Any = json.loads(raw)
    except ValueError:
        return "unreadable event"
    if not isinstance(event, dict):
        return "unreadable event"
    parts = [str(event.get("kind", "event"))]
    parts += [f"{name} {event[name]}" for name in ("account", "call_id") if event.get(name)]
    return ", ".join(parts)


class DeadLetters:
    """List, show, replay and drop the dead letters of the events stream and the outbox."""

    def __init__(self, redis: Redis, keys: Keys | None = None) -> None:
        self._redis = redis
        self._keys = keys or Keys()
        self.streams = {
            "events": self._keys.dead_letters(self._keys.events_stream()),
            "outbox": self._keys.dead_letters(self._keys.outbox(0)),
        }

    async def all(self) -> list[DeadLetter]:
        """Every dead letter, oldest first."""
        found: list[DeadLetter] = []
        for kind, stream in self.streams.items():
            for entry_id, fields in await self._redis.xrange(stream) or []:
                found.append(DeadLetter(kind, stream, str(entry_id), _text(fields)))
        return sorted(found, key=lambda letter: letter.failed_at)

    async def get(self, letter_id: str) -> DeadLetter:
        """The dead letter ``events:ID``, ``outbox:ID`` or a bare ID found in only one."""
        kind, _, entry_id = letter_id.rpartition(":")
        kinds = [kind] if kind else list(self.streams)
        if kind and kind not in self.streams:
            raise PbxgramError(f"no dead letter {letter_id} (ids start with events: or outbox:)")
        found = []
        for name in kinds:
            try:
                entries = await self._redis.xrange(self.streams[name], entry_id, entry_id)
            except Exception:  # a malformed id
                raise PbxgramError(f"no dead letter {letter_id}") from None
            stream = self.streams[name]
            found += [DeadLetter(name, stream, str(i), _text(f)) for i, f in entries or []]
        if not found:
            raise PbxgramError(f"no dead letter {letter_id} (see pbxgram dead-letters list)")
        if len(found) > 1:
            raise PbxgramError(f"{letter_id} is in both streams: say events:{entry_id} or outbox:…")
        return found[0]

    async def drop(self, letter: DeadLetter) -> None:
        await self._redis.xdel(letter.stream, letter.entry_id)

    async def replay(self, letter: DeadLetter) -> str:
        """Put ``letter`` back where it came from and drop it; say where it went."""
        if letter.kind == "events":
            return await self._replay_event(letter)
        return await self._replay_message(letter)

    async def _replay_event(self, letter: DeadLetter) -> str:
        target = letter.fields.get("source") or self._keys.events_stream()
        original = {k: v for k, v in letter.fields.items() if k not in ADDED}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(target, original, maxlen=STREAM_MAXLEN, approximate=True)  # type: ignore[arg-type]
            pipe.xdel(letter.stream, letter.entry_id)
            await pipe.execute()
        return target

    async def _replay_message(self, letter: DeadLetter) -> str:
        key = letter.slot_key or self._keys.slot(letter.fields.get("slot", ""))
        state = await self._redis.hmget(key, ["priority", "chat"])
        if state[0] is None:
            raise PbxgramError(
                f"{letter.id}: the message has expired (kept 3 days); drop it instead"
            )
        target = self._keys.outbox(int(state[0]))
        async with self._redis.pipeline(transaction=True) as pipe:
            if letter.refused:  # it was marked sent when refused: send it again
                pipe.hdel(key, "sent_version")
            pipe.xadd(target, {"slot": key, "chat": state[1] or ""})
            pipe.xdel(letter.stream, letter.entry_id)
            await pipe.execute()
        return target
