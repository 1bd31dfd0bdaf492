"""The command menu: which commands exist for whom, registered with setMyCommands."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)

from bot.domain import Language, Role
from bot.texts import Texts

EVERYONE = ("start", "help", "whoami", "lang")
TELEPHONY = ("call", "sms", "line", "mobile", "forward", "recordings", "history", "missed")
MANAGER = ("balance", "campaigns", "report", "blocked")
ADMIN = ("invite", "users", "role", "unlink", "status", "audit", "forget")
GROUP = ("help", "subscriptions")
GROUP_ADMIN = ("subscribe", "unsubscribe")


def commands_for(
    role: Role | None, *, in_group: bool, extra_admin: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """The commands a person with ``role`` may use in a private chat or a group
    (``extra_admin``: the admin commands the configured PBXs bring)."""
    is_admin = role is not None and role.at_least(Role.ADMIN)
    if in_group:
        return GROUP + (GROUP_ADMIN if is_admin else ())
    telephony = TELEPHONY if role is not None else ()
    managing = MANAGER if role is not None and role.at_least(Role.MANAGER) else ()
    admin = ADMIN + extra_admin if is_admin else ()
    return EVERYONE + telephony + managing + admin


async def register_commands(
    bot: Bot, texts: Texts, admin_ids: list[int], *, extra_admin: tuple[str, ...] = ()
) -> None:
    """Set the menu per language: private chats, groups, and each admin's own chat."""
    for language in Language:

        def menu(names: tuple[str, ...], language: Language = language) -> list[BotCommand]:
            return [
                BotCommand(command=name, description=texts.label(language, f"commands.{name}"))
                for name in names
            ]

        codes = [language.value] + ([""] if language is Language.RU else [])
        for code in codes:
            await bot.set_my_commands(
                menu(commands_for(None, in_group=False)),
                scope=BotCommandScopeAllPrivateChats(),
                language_code=code or None,
            )
            await bot.set_my_commands(
                menu(commands_for(None, in_group=True)),
                scope=BotCommandScopeAllGroupChats(),
                language_code=code or None,
            )
            for admin_id in admin_ids:
                try:
                    await bot.set_my_commands(
                        menu(commands_for(Role.ADMIN, in_group=False, extra_admin=extra_admin)),
                        scope=BotCommandScopeChat(chat_id=admin_id),
                        language_code=code or None,
                    )
                except TelegramAPIError:
                    continue
