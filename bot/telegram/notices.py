"""Messages the bot sends on its own to someone other than the person it is answering.

Use :class:`Notices` to write to a person in *their* stored language; a person who has
never started the bot (or blocked it) is skipped, not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup, Message

from bot.domain import Language
from bot.storage import Repositories
from bot.texts import Texts, Translator

log = logging.getLogger(__name__)

MarkupFactory = Callable[[Translator], InlineKeyboardMarkup]


class Notices:
    """Send or edit a templated message in the recipient's language."""

    def __init__(self, bot: Bot, texts: Texts, repos: Repositories) -> None:
        self.bot = bot
        self.texts = texts
        self.repos = repos

    async def translator(self, chat_id: int, fallback: Language = Language.RU) -> Translator:
        """The recipient's Translator: a person's language, or a group chat's.

        ``fallback`` is for chats pbxgram knows nothing about yet.
        """
        if chat_id < 0:
            language = await self.repos.subscriptions.language(chat_id)
        else:
            user = await self.repos.users.get(chat_id)
            language = user.preferred_language if user else None
        return self.texts.bind(language or fallback)

    async def send(
        self,
        chat_id: int,
        template: str,
        /,
        *,
        fallback: Language = Language.RU,
        markup: MarkupFactory | None = None,
        **context: Any,
    ) -> Message | None:
        """The sent message, or None when Telegram refused (never started, blocked)."""
        t = await self.translator(chat_id, fallback)
        try:
            return await self.bot.send_message(
                chat_id, t(template, **context), reply_markup=markup(t) if markup else None
            )
        except TelegramAPIError as exc:
            log.info("notice %s to %s not delivered: %s", template, chat_id, exc.message)
            return None

    async def edit(
        self,
        chat_id: int,
        message_id: int,
        template: str,
        /,
        *,
        fallback: Language = Language.RU,
        **context: Any,
    ) -> bool:
        """Replace a message's text (and drop its buttons); False when Telegram refused."""
        t = await self.translator(chat_id, fallback)
        try:
            await self.bot.edit_message_text(
                text=t(template, **context), chat_id=chat_id, message_id=message_id
            )
        except TelegramAPIError as exc:
            log.info("edit of %s in %s failed: %s", message_id, chat_id, exc.message)
            return False
        return True
