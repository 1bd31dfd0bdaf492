"""``/mobilonkey``: an admin sets the Mobilon API key of an employee's extension.

Mobilon's click-to-call needs each employee's own key. The message holding a key is
deleted at once, whoever sent it and wherever; the answer never repeats the key. Only
admins may set keys, and only in a private chat with the bot.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain import Role
from bot.pbx.mobilon.keys import EXTENSION_PATTERN, looks_like_key
from bot.pbx.mobilon.provider import MobilonProvider
from bot.pbx.providers import Providers
from bot.telegram.identity import Identity
from bot.texts import Translator

REMOVE = "-"


def build_router() -> Router:
    """``/mobilonkey``."""
    router = Router(name=__name__)
    router.message.register(mobilon_key, Command("mobilonkey"))
    return router


async def mobilon_key(
    message: Message,
    command: CommandObject,
    identity: Identity,
    t: Translator,
    providers: Providers,
) -> None:
    args = (command.args or "").split()
    deleted = await _delete(message) if args else True
    if not identity.has_role(Role.ADMIN):
        await message.answer(t("mobilon_key_refused", deleted=bool(args) and deleted))
        return
    if args and message.chat.type != ChatType.PRIVATE:
        await message.answer(t("mobilon_key_private", deleted=deleted))
        return
    accounts = [p for p in providers if isinstance(p, MobilonProvider)]
    several = len(accounts) > 1
    if len(args) not in (2, 3) or not EXTENSION_PATTERN.match(args[0]):
        keys = [(p.account.id, await p.employee_keys.extensions(p.account.id)) for p in accounts]
        await message.answer(t("mobilon_key_usage", several=several, keys=keys))
        return
    provider = _account(accounts, args[2] if len(args) == 3 else None)
    if provider is None:
        await message.answer(
            t(
                "mobilon_key_account",
                accounts=[p.account.id for p in accounts],
                unknown=len(args) == 3,
                deleted=deleted,
            )
        )
        return
    extension, key, account = args[0], args[1], provider.account.id
    if key == REMOVE:
        removed = await provider.employee_keys.remove(account, extension)
        await message.answer(t("mobilon_key_removed", extension=extension, removed=removed))
        return
    if not looks_like_key(key):
        await message.answer(t("mobilon_key_bad", deleted=deleted))
        return
    await provider.employee_keys.set(account, extension, key)
    await message.answer(
        t(
            "mobilon_key_saved",
            extension=extension,
            account=account,
            several=several,
            deleted=deleted,
        )
    )


def _account(accounts: list[MobilonProvider], name: str | None) -> MobilonProvider | None:
    if name is None:
        return accounts[0] if len(accounts) == 1 else None
    return next((p for p in accounts if p.account.id == name), None)


async def _delete(message: Message) -> bool:
    """Delete the message that may hold a key; False when Telegram would not."""
    try:
        return bool(await message.delete())
    except (TelegramBadRequest, TelegramForbiddenError):
        return False
