"""Admins hear about what was set aside: stream entries that kept failing, and messages
Telegram refused for good.

Use a :class:`DeadLetterNotice` as a stream consumer's ``on_dead``, and
:class:`RefusedMessages` where the sender meets an answer that will not change (a bad
request): the message goes to the dead letters at once, and the admins are told once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from redis.asyncio import Redis

from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox, OutMessage, Priority

Admins = Callable[[], Awaitable[Iterable[int]]]  # the admins' Telegram ids, when asked
NOTICE_PREFIX = "dead:"  # the slots of the notices themselves


class DeadLetterNotice:
    """Queues one message per admin for each entry moved to ``dead_letters``."""

    def __init__(
        self,
        dead_letters: str,
        admins: Admins,
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
                f"{NOTICE_PREFIX}{entry_id}:{admin_id}",
                OutMessage(chat_id=admin_id, text=text),
                Priority.DIGEST,
            )


class RefusedMessages:
    """Sets aside an outbox slot Telegram refused, and tells each admin once."""

    def __init__(
        self,
        redis: Redis,
        dead_letters: str,
        admins: Admins,
        notices: Notices,
        outbox: Outbox,
        *,
        maxlen: int = 10_000,
    ) -> None:
        self._redis = redis
        self._maxlen = maxlen
        self._stream = dead_letters
        self._admins = admins
        self._notices = notices
        self._outbox = outbox

    async def __call__(self, slot_key: str, chat_id: int, reason: str) -> None:
        slot = slot_key.rsplit(":slot:", 1)[-1]
        priority = await self._redis.hget(slot_key, "priority")
        fields: dict[Any, Any] = {"slot": slot, "slot_key": slot_key, "chat_id": str(chat_id)}
        fields["reason"] = reason[:200]
        if priority is not None:  # where a replay puts it back
            fields["source"] = self._outbox.streams()[int(priority)]
        await self._redis.xadd(self._stream, fields, maxlen=self._maxlen, approximate=True)
        if slot.startswith(NOTICE_PREFIX):
            return  # a notice about a refused message is never announced in turn
        for admin_id in await self._admins():
            t = await self._notices.translator(admin_id)
            text = t("message_refused", chat_id=chat_id, reason=reason[:200], stream=self._stream)
            await self._outbox.put(
                f"{NOTICE_PREFIX}refused:{slot}:{admin_id}",
                OutMessage(chat_id=admin_id, text=text),
                Priority.DIGEST,
            )
