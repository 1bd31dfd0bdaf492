"""Commands for everyone, in any chat: ``/help``, ``/whoami``, ``/lang``."""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain import Language
from bot.pbx.providers import Providers
from bot.storage import Repositories
from bot.telegram.identity import Identity
from bot.telegram.menu import commands_for
from bot.texts import Texts, Translator


def build_router() -> Router:
    """``/help``, ``/whoami`` and ``/lang`` for everyone."""
    router = Router(name=__name__)
    router.message.register(help_command, Command("help"))
    router.message.register(whoami, Command("whoami"))
    router.message.register(lang, Command("lang"))
    return router


async def help_command(
    message: Message, identity: Identity, t: Translator, providers: Providers
) -> None:
    in_group = message.chat.type != ChatType.PRIVATE
    extra = providers.admin_commands()
    commands = commands_for(identity.role, in_group=in_group, extra_admin=extra)
    await message.answer(
        t(
            "help",
            commands=[(name, t.label(f"commands.{name}")) for name in commands],
            linked=identity.linked,
        )
    )


async def whoami(message: Message, identity: Identity, t: Translator) -> None:
    await message.answer(
        t(
            "whoami",
            name=identity.user.display_name,
            telegram_id=identity.telegram_id,
            role=t.label(f"roles.{identity.role.value}") if identity.role else None,
            links=identity.links,
            language=identity.language.value,
        )
    )


async def lang(
    message: Message,
    command: CommandObject,
    identity: Identity,
    t: Translator,
    repos: Repositories,
    texts: Texts,
) -> None:
    choice = (command.args or "").strip().lower()
    if choice not in {language.value for language in Language}:
        await message.answer(t("lang_usage", current=identity.language.value))
        return
    language = Language(choice)
    await repos.users.set_language(identity.telegram_id, language)
    await message.answer(texts.render(language, "lang_set"))
