"""What each bot message looked like over time, so the transcript can show how a card or
an alert changed (Telegram itself only keeps the last version).

Run :meth:`History.follow` as a task for as long as messages should be watched; it wakes
on every change in the emulator, so it sees each version a person would have seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sandbox.telegram import ChatMessage, TelegramEmulator

QUIET_WAIT = 3600.0  # seconds one look at a chat waits for something new


@dataclass(frozen=True)
class Version:
    """A message's text and buttons at one moment."""

    text: str
    buttons: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, message: ChatMessage) -> Version:
        rows = tuple(tuple(b.text for b in row) for row in message.buttons)
        return cls(message.text, rows)


class History:
    """Every version seen of every bot message, by (chat id, message id)."""

    def __init__(self) -> None:
        self.versions: dict[tuple[int, int], list[Version]] = {}
        self.listener: Callable[[ChatMessage], None] | None = None

    def is_current(self, message: ChatMessage) -> bool:
        seen = self.versions.get((message.chat_id, message.message_id), [])
        return bool(seen) and seen[-1] == Version.of(message)

    def note(self, message: ChatMessage) -> None:
        """Remember ``message`` as it is now, and tell the listener."""
        self.versions.setdefault((message.chat_id, message.message_id), []).append(
            Version.of(message)
        )
        if self.listener is not None:
            self.listener(message)

    def earlier(self, message: ChatMessage) -> list[Version]:
        """The versions before the current one, oldest first."""
        seen = self.versions.get((message.chat_id, message.message_id), [])
        if seen and seen[-1] == Version.of(message):
            return seen[:-1]
        return list(seen)

    async def follow(self, emulator: TelegramEmulator, chats: Iterable[int]) -> None:
        """Watch ``chats`` until cancelled."""
        async with asyncio.TaskGroup() as group:
            for chat in chats:
                group.create_task(self._follow_chat(emulator, chat))

    async def _follow_chat(self, emulator: TelegramEmulator, chat: int) -> None:
        while True:
            try:
                message = await emulator.wait_for_message(
                    chat, lambda m: not self.is_current(m), timeout=QUIET_WAIT
                )
            except TimeoutError:
                continue
            self.note(message)
