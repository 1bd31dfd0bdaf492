"""``/start group``: the link a group gives someone who never opened a private chat with
the bot (:mod:`bot.telegram.private_answers`); it greets as ``/start`` does."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import CommandStart

from bot.telegram.private_answers import FROM_GROUP
from handlers.start import start


def build_router() -> Router:
    """``/start group`` in a private chat; include it before the invite links'."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(start, CommandStart(deep_link=True, magic=F.args == FROM_GROUP))
    return router
