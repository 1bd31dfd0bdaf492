"""Last in line: a private message nothing else understood gets a pointer to /help."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import Message

from bot.texts import Translator


def build_router() -> Router:
    """Private messages nothing before this router took."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(not_understood)
    return router


async def not_understood(message: Message, t: Translator) -> None:
    await message.answer(t("fallback"))
