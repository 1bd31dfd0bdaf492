"""Admins hear about stream entries that kept failing and were set aside.

Use a :class:`DeadLetterNotice` as a stream consumer's ``on_dead``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox, OutMessage, Priority


class DeadLetterNotice:
    """Queues one message per admin for each entry moved to ``dead_letters``."""

    def __init__(
        self,
        dead_letters: str,
        admins: Callable[[], Awaitable[Iterable[int]]],
        notices: Notices,
        outbox: Outbox,
    ) -> None:
        self._stream = dead_letters
        self._admins = admins
        self._notices = notices
        self._outbox = outbox

    async def __call__(self, entry_id: str, fields: dict[str, str], deliveries: int) -> None:
        for admin_id in await self._admins():
            t = await self._notices.translator(admin_id)
            text = t("dead_letter", deliveries=deliveries, stream=self._stream)
            await self._outbox.put(
                f"dead:{entry_id}:{admin_id}",
                OutMessage(chat_id=admin_id, text=text),
                Priority.DIGEST,
            )
