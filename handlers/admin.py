"""Admin commands in private chats: ``/invite``, ``/users``, ``/unlink``, ``/role``,
``/status``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from redis.asyncio import Redis

from bot.config import Settings
from bot.domain import Role
from bot.formatting import moment, reason
from bot.services.access import Access
from bot.services.status import read_status
from bot.storage.invites import INVITE_TTL
from bot.storage.keys import Keys
from bot.telegram.connection import TelegramState
from bot.telegram.gates import RequireRole
from bot.telegram.identity import Identity
from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox
from bot.telegram.replies import account_problem
from bot.texts import Translator


def build_router() -> Router:
    """Admin commands, in private chats; admins only."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.middleware(RequireRole(Role.ADMIN))
    router.message.register(invite, Command("invite"))
    router.message.register(users, Command("users"))
    router.message.register(unlink, Command("unlink"))
    router.message.register(role, Command("role"))
    router.message.register(status, Command("status"))
    return router


ROLE_NAMES = {role.value: role for role in Role}


async def invite(
    message: Message,
    command: CommandObject,
    identity: Identity,
    t: Translator,
    access: Access,
    bot: Bot,
) -> None:
    args = (command.args or "").split()
    if not args or not args[0].isdigit() or len(args) > 3:
        await message.answer(t("invite_usage"))
        return
    extension, role, account_id = args[0], Role.REP, None
    for arg in args[1:]:
        if arg.lower() in ROLE_NAMES:
            role = ROLE_NAMES[arg.lower()]
        else:
            account_id = arg
    account = access.account(account_id)
    if account is None:
        await message.answer(account_problem(t, access, account_id))
        return
    created = await access.create_invite(account.id, extension, role, identity.telegram_id)
    me = await bot.me()
    await message.answer(
        t(
            "invite_created",
            link=f"https://t.me/{me.username}?start={created.code}",
            extension=extension,
            account=account.id,
            role=t.label(f"roles.{role.value}"),
            hours=int(INVITE_TTL / timedelta(hours=1)),
        )
    )


async def users(message: Message, t: Translator, access: Access) -> None:
    rows = []
    admin_ids = set(await access.admin_ids())
    for user in await access.repos.users.all():
        links = await access.repos.links.of_user(user.telegram_id)
        role = Role.ADMIN if user.telegram_id in admin_ids else user.role
        if role is None and not links:
            continue
        rows.append(
            {
                "name": user.display_name,
                "telegram_id": user.telegram_id,
                "role": t.label(f"roles.{role.value}") if role else t.label("roles.none"),
                "links": links,
            }
        )
    await message.answer(t("users_list", rows=rows))


async def unlink(
    message: Message,
    command: CommandObject,
    identity: Identity,
    t: Translator,
    access: Access,
    notices: Notices,
) -> None:
    args = (command.args or "").split()
    if not args or len(args) > 2:
        await message.answer(t("unlink_usage"))
        return
    user = await access.find_user(args[0])
    if user is None:
        await message.answer(t("user_not_found", target=args[0]))
        return
    account = args[1] if len(args) > 1 else None
    removed = await access.unlink(user.telegram_id, account, by=identity.telegram_id)
    if not removed:
        await message.answer(t("unlink_nothing", name=user.display_name))
        return
    await message.answer(t("unlink_done", name=user.display_name, links=removed))
    await notices.send(user.telegram_id, "unlinked_notice", links=removed)


async def role(
    message: Message, command: CommandObject, identity: Identity, t: Translator, access: Access
) -> None:
    args = (command.args or "").split()
    if len(args) != 2 or args[1].lower() not in ROLE_NAMES:
        await message.answer(t("role_usage"))
        return
    user = await access.find_user(args[0])
    if user is None:
        await message.answer(t("user_not_found", target=args[0]))
        return
    new_role = ROLE_NAMES[args[1].lower()]
    await access.set_role(user.telegram_id, new_role, by=identity.telegram_id)
    await message.answer(
        t("role_done", name=user.display_name, role=t.label(f"roles.{new_role.value}"))
    )


async def status(
    message: Message,
    t: Translator,
    redis: Redis,
    keys: Keys,
    outbox: Outbox,
    telegram: TelegramState,
    settings: Settings,
) -> None:
    found = await read_status(redis, keys, outbox, telegram, list(settings.accounts))
    accounts = [
        {
            **asdict(row),
            "last_event": row.last_event and moment(row.last_event, settings.zone, t.language),
            "log_read": row.log_read and moment(row.log_read, settings.zone, t.language),
            "transcripts_reason": row.transcripts_reason and reason(t, row.transcripts_reason),
        }
        for row in found.accounts
    ]
    await message.answer(t("status", **{**asdict(found), "accounts": accounts}))
