"""Everything the emulated Telegram knows: users, chats, messages and a change signal."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sandbox.telegram.models import ChatMessage

T = TypeVar("T")


class Signal:
    """Wakes every waiter on each state change; safe to fire from plain (non-async) code."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake everyone waiting right now."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, probe: Callable[[], T | None], seconds: float) -> T | None:
        """The first non-None ``probe()`` result, re-checked after each change; None on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            event = self._event
            found = probe()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                return probe()


@dataclass
class Chat:
    """A chat the bot may talk in. ``bot_status`` is the bot's ChatMember status there."""

    id: int
    type: str
    title: str | None = None
    bot_status: str = "left"
    bot_was_member: bool = False
    members: dict[int, str] = field(default_factory=dict)
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    next_message_id: int = 1

    @property
    def is_group(self) -> bool:
        """True for groups and supergroups."""
        return self.type in ("group", "supergroup")


class State:
    """Users, chats and transcripts; every mutation goes through here and fires ``signal``."""

    def __init__(self, bot_id: int, bot_username: str, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.signal = Signal()
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_username.removesuffix("_bot").removesuffix("bot") or "Bot",
            "username": bot_username,
        }
        self.users: dict[int, dict[str, Any]] = {}
        self.phones: dict[int, str] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.callback_queries: dict[str, tuple[float, int]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[tuple[str, str]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None

    def changed(self) -> None:
        """Wake waiters after a mutation."""
        self.signal.notify()

    # --- objects in Telegram's shapes -------------------------------------------------

    def user(self, user_id: int) -> dict[str, Any]:
        """A known person's User object; ValueError if unknown."""
        if user_id == self.bot_user["id"]:
            return dict(self.bot_user)
        if user_id not in self.users:
            raise ValueError(f"unknown user {user_id}: call add_user() first")
        return dict(self.users[user_id])

    def chat_object(self, chat: Chat) -> dict[str, Any]:
        """The Chat object embedded in messages and updates."""
        if chat.type == "private":
            person = self.users[chat.id]
            obj = {"id": chat.id, "type": "private", "first_name": person["first_name"]}
            for key in ("last_name", "username"):
                if person.get(key):
                    obj[key] = person[key]
            return obj
        return {"id": chat.id, "type": chat.type, "title": chat.title or ""}

    def chat(self, chat_id: int) -> Chat:
        """A known chat; ValueError if there is none (for the injecting side)."""
        found = self.chats.get(chat_id)
        if found is None:
            raise ValueError(f"unknown chat {chat_id}: add the user or group first")
        return found

    # --- messages ---------------------------------------------------------------------

    def new_raw(
        self, chat: Chat, sender: dict[str, Any], reply_to: int | None = None
    ) -> dict[str, Any]:
        """A Message skeleton with the next message_id; content is added by the caller."""
        raw: dict[str, Any] = {
            "message_id": chat.next_message_id,
            "date": int(time.time()),
            "chat": self.chat_object(chat),
            "from": sender,
        }
        chat.next_message_id += 1
        if reply_to is not None:
            replied = dict(chat.messages[reply_to].raw)
            replied.pop("reply_to_message", None)
            raw["reply_to_message"] = replied
        return raw

    def store(self, message: ChatMessage) -> ChatMessage:
        """Add or replace a message in its chat's transcript and wake waiters."""
        self.chats[message.chat_id].messages[message.message_id] = message
        self.changed()
        return message

    def edit(self, message: ChatMessage, **changes: Any) -> ChatMessage:
        """Store an edited copy of ``message`` with ``edit_date`` set."""
        raw = dict(changes.pop("raw", message.raw))
        raw["edit_date"] = int(time.time())
        return self.store(dataclasses.replace(message, edited=True, raw=raw, **changes))

    def delete(self, chat_id: int, message_id: int) -> None:
        """Remove a message from the transcript."""
        del self.chats[chat_id].messages[message_id]
        self.changed()

    def transcript(self, chat_id: int) -> list[ChatMessage]:
        """Messages of a chat in order; empty for unknown chats."""
        chat = self.chats.get(chat_id)
        return list(chat.messages.values()) if chat else []

    def find_bot_message(
        self, chat_id: int, predicate: Callable[[ChatMessage], bool] | None
    ) -> ChatMessage | None:
        """The first bot message in a chat that satisfies ``predicate``."""
        for message in self.transcript(chat_id):
            if message.from_bot and (predicate is None or predicate(message)):
                return message
        return None
