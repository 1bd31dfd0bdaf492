"""Commands in groups answer privately.

:class:`PrivateAnswers` is an outer middleware for the root router's ``message`` observer.
A telephony or data command sent in a group runs as if it had been sent in the
requester's private chat with the bot, so every answer goes there; the group gets one
short line with no data. Someone who never opened the private chat gets a line with a
link to open it instead, and no answer. Either line is deleted after a while.

The group's own commands (``/subscribe``, ``/unsubscribe``, ``/subscriptions``) and
``/start``, ``/help`` and ``/lang`` act where they are sent; PBX-specific admin commands
(``/mobilonkey``) keep their own handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.middlewares.user_context import EventContext
from aiogram.enums import ChatAction, ChatType
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import Chat, LinkPreviewOptions, Message, ReplyParameters, TelegramObject, User

from bot.telegram.menu import ADMIN, EVERYONE, MANAGER, TELEPHONY
from bot.texts import Translator

log = logging.getLogger(__name__)

STAY_IN_CHAT = frozenset({"start", "help", "lang"})
PRIVATE_COMMANDS = frozenset(EVERYONE + TELEPHONY + MANAGER + ADMIN) - STAY_IN_CHAT
FROM_GROUP = "group"  # the /start payload of the link a group gives
LINE_SECONDS = 60.0
CLOSE_SECONDS = 5.0  # how long shutting down may spend deleting the lines still waiting
GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})


class InPrivate(Message):
    """A group message re-addressed to its sender's private chat.

    Its ``message_id`` is 0 (the command does not exist there), so a reply to it is sent
    as a plain message.
    """

    def as_reply_parameters(self, *args: Any, **kwargs: Any) -> ReplyParameters:
        parameters = super().as_reply_parameters(*args, **kwargs)
        return parameters.model_copy(update={"allow_sending_without_reply": True})


def in_private(message: Message, user: User, bot: Bot) -> InPrivate:
    """``message`` as if ``user`` had sent it in their private chat with ``bot``."""
    chat = Chat(
        id=user.id,
        type=ChatType.PRIVATE,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
    )
    moved = message.model_copy(
        update={"chat": chat, "message_id": 0, "message_thread_id": None, "is_topic_message": None}
    )
    return InPrivate.model_validate(moved, from_attributes=True).as_(bot)


async def command_for_me(message: Message, bot: Bot) -> str | None:
    """The command a message starts with (lower case), unless it names another bot."""
    text = message.text or ""
    words = text[1:].split(maxsplit=1) if text.startswith("/") else []
    if not words:
        return None
    name, _, mention = words[0].partition("@")
    if mention and mention.lower() != ((await bot.me()).username or "").lower():
        return None
    return name.lower()


class PrivateAnswers(BaseMiddleware):
    """Runs group commands of :data:`PRIVATE_COMMANDS` in the requester's private chat.

    Register outer on the root router's ``message`` observer, before anything that reads
    the FSM state. The group's line is deleted ``line_seconds`` later, in the background;
    register :meth:`close` on the router's ``shutdown`` so none is left behind.
    """

    def __init__(self, line_seconds: float = LINE_SECONDS) -> None:
        self.line_seconds = line_seconds
        self._waiting: dict[asyncio.Task[None], Message] = {}  # lines to delete

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        bot: Bot | None = data.get("bot")
        t: Translator | None = data.get("t")
        user = event.from_user if isinstance(event, Message) else None
        if (
            not isinstance(event, Message)
            or event.chat.type not in GROUP_TYPES
            or user is None
            or user.is_bot
            or bot is None
            or t is None
            or await command_for_me(event, bot) not in PRIVATE_COMMANDS
        ):
            return await handler(event, data)
        if not await _reachable(bot, user.id):
            link = f"https://t.me/{(await bot.me()).username}?start={FROM_GROUP}"
            await self._tell_group(event, t("private_chat_needed", link=link))
            return None
        private = in_private(event, user, bot)
        await _move_context(data, private.chat, user, bot)
        result = await handler(private, data)
        if result is not UNHANDLED:
            await self._tell_group(event, t("answered_privately"))
        return result

    async def _tell_group(self, message: Message, text: str) -> None:
        """One line in the group, as a reply to the command, deleted after a while."""
        reply = ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)
        try:
            line = await message.answer(
                text,
                reply_parameters=reply,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except TelegramAPIError as exc:
            log.info("could not post in group %s: %s", message.chat.id, exc.message)
            return
        task = asyncio.create_task(self._delete_later(line))
        self._waiting[task] = line
        task.add_done_callback(self._forget)

    async def close(self) -> None:
        """Delete the lines still waiting, at once: the dispatcher is shutting down."""
        waiting = list(self._waiting.items())
        for task, _ in waiting:
            task.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_SECONDS):
                await asyncio.gather(*(_delete(line) for _, line in waiting))

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._waiting.pop(task, None)

    async def _delete_later(self, line: Message) -> None:
        await asyncio.sleep(self.line_seconds)
        await _delete(line)


async def _delete(line: Message) -> None:
    try:
        await line.delete()
    except TelegramAPIError as exc:
        log.info("could not delete line %s in %s: %s", line.message_id, line.chat.id, exc)


async def _reachable(bot: Bot, user_id: int) -> bool:
    """Whether the bot may write to the user's private chat (they opened it once)."""
    try:
        await bot.send_chat_action(user_id, ChatAction.TYPING)
    except (TelegramForbiddenError, TelegramBadRequest):
        return False
    return True


async def _move_context(data: dict[str, Any], chat: Chat, user: User, bot: Bot) -> None:
    """Point aiogram's chat and FSM entries at the private chat."""
    context: EventContext | None = data.get("event_context")
    data["event_chat"] = chat
    data.pop("event_thread_id", None)
    if context is not None:
        data["event_context"] = EventContext(
            chat=chat, user=user, business_connection_id=context.business_connection_id
        )
    dispatcher: Dispatcher | None = data.get("dispatcher")
    if dispatcher is None or "state" not in data:
        return
    state = dispatcher.fsm.resolve_context(bot, chat_id=chat.id, user_id=user.id)
    if state is not None:
        data["state"] = state
        data["raw_state"] = await state.get_state()
