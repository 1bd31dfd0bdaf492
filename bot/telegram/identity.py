"""Who is writing: the stored user, their effective role, links and language.

:class:`IdentityMiddleware` runs as an outer middleware on every update and injects
``identity`` (:class:`Identity`) and ``t`` (a :class:`~bot.texts.Translator`) into handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser

from bot.config import Settings
from bot.domain import Language, Link, Role, User
from bot.storage import Repositories
from bot.texts import Texts


@dataclass(frozen=True)
class Identity:
    """The person behind an update, as pbxgram sees them."""

    user: User
    role: Role | None
    links: tuple[Link, ...]
    language: Language

    @property
    def telegram_id(self) -> int:
        return self.user.telegram_id

    @property
    def linked(self) -> bool:
        return bool(self.links)

    def has_role(self, role: Role) -> bool:
        return self.role is not None and self.role.at_least(role)


async def resolve_identity(
    tg_user: TelegramUser, repos: Repositories, settings: Settings
) -> Identity:
    """Load (or create) the stored user and work out their effective role."""
    user = await repos.users.touch(
        tg_user.id, tg_user.first_name, tg_user.username, tg_user.language_code
    )
    links = await repos.links.of_user(tg_user.id)
    role = Role.ADMIN if tg_user.id in settings.admin_ids else user.role
    return Identity(user=user, role=role, links=tuple(links), language=user.preferred_language)


class IdentityMiddleware(BaseMiddleware):
    """Injects ``identity`` and ``t`` for updates that come from a person."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TelegramUser | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        repos: Repositories = data["repos"]
        settings: Settings = data["settings"]
        texts: Texts = data["texts"]
        identity = await resolve_identity(tg_user, repos, settings)
        data["identity"] = identity
        data["t"] = texts.bind(identity.language)
        return await handler(event, data)
