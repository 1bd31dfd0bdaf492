"""Router-level gates: attach to a router so every handler in it is refused politely.

Use ``router.message.middleware(RequireRole(Role.ADMIN))`` (and the same on
``callback_query``), or :class:`RequireLink` for telephony routers. They run only when a
handler of that router matched, answer the refusal and stop the handler from running.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.domain import Role
from bot.telegram.identity import Identity
from bot.texts import Translator


async def refuse(event: TelegramObject, text: str) -> None:
    """Answer a message with ``text``, or a button press with an alert."""
    if isinstance(event, Message):
        await event.answer(text)
    elif isinstance(event, CallbackQuery):
        await event.answer(text, show_alert=True)


class RequireRole(BaseMiddleware):
    """Only people with at least ``role`` reach the handlers."""

    def __init__(self, role: Role) -> None:
        self.role = role

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        identity: Identity | None = data.get("identity")
        if identity is not None and identity.has_role(self.role):
            return await handler(event, data)
        t: Translator | None = data.get("t")
        if t is not None:
            await refuse(event, t("refused_role", role=t.label(f"roles.{self.role.value}")))
        return None


class RequireLink(BaseMiddleware):
    """Only people linked to a PBX extension reach the handlers; no PBX request otherwise."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        identity: Identity | None = data.get("identity")
        if identity is not None and identity.linked:
            return await handler(event, data)
        t: Translator | None = data.get("t")
        if t is not None:
            await refuse(event, t("refused_unlinked"))
        return None
