"""Group chats: greeting when added, and what the group follows (admins only)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import (
    JOIN_TRANSITION,
    LEAVE_TRANSITION,
    ChatMemberUpdatedFilter,
    Command,
    CommandObject,
)
from aiogram.types import ChatMemberUpdated, Message

from bot.domain import Role, SubscriptionKind
from bot.services.access import Access
from bot.services.audit import AuditLog
from bot.storage import Repositories
from bot.telegram.gates import RequireRole
from bot.telegram.replies import account_problem
from bot.texts import Translator

GROUP_TYPES = {ChatType.GROUP, ChatType.SUPERGROUP}
KINDS = {kind.value: kind for kind in SubscriptionKind}


def build_router() -> Router:
    """Group chats: joining and leaving, ``/subscriptions`` for all, changes for admins."""
    router = Router(name=__name__)
    members = Router(name=f"{__name__}.members")
    members.message.filter(F.chat.type.in_(GROUP_TYPES))
    members.my_chat_member.filter(F.chat.type.in_(GROUP_TYPES))
    members.my_chat_member.register(added_to_group, ChatMemberUpdatedFilter(JOIN_TRANSITION))
    members.my_chat_member.register(removed_from_group, ChatMemberUpdatedFilter(LEAVE_TRANSITION))
    members.message.register(subscriptions, Command("subscriptions"))
    admins = Router(name=f"{__name__}.admin")
    admins.message.filter(F.chat.type.in_(GROUP_TYPES))
    admins.message.middleware(RequireRole(Role.ADMIN))
    admins.message.register(change_subscription, Command("subscribe", "unsubscribe"))
    router.include_routers(members, admins)
    return router


async def added_to_group(event: ChatMemberUpdated, t: Translator) -> None:
    await event.answer(t("group_welcome", kinds=list(KINDS)))


async def removed_from_group(event: ChatMemberUpdated, repos: Repositories) -> None:
    await repos.subscriptions.forget_chat(event.chat.id)


async def subscriptions(message: Message, t: Translator, repos: Repositories) -> None:
    entries = await repos.subscriptions.of_chat(message.chat.id)
    await message.answer(t("subscriptions_list", entries=[(k.value, a) for k, a in entries]))


async def change_subscription(
    message: Message,
    command: CommandObject,
    t: Translator,
    access: Access,
    repos: Repositories,
    audit: AuditLog,
) -> None:
    args = (command.args or "").split()
    if not args or args[0].lower() not in KINDS or len(args) > 2:
        await message.answer(t("subscribe_usage", kinds=list(KINDS)))
        return
    kind = KINDS[args[0].lower()]
    account_id = args[1] if len(args) > 1 else None
    account = access.account(account_id)
    if account is None:
        await message.answer(account_problem(t, access, account_id))
        return
    if command.command == "subscribe":
        changed = await repos.subscriptions.subscribe(message.chat.id, account.id, kind)
        await repos.subscriptions.set_language(message.chat.id, t.language)
        template = "subscribed" if changed else "already_subscribed"
    else:
        changed = await repos.subscriptions.unsubscribe(message.chat.id, account.id, kind)
        template = "unsubscribed" if changed else "not_subscribed"
    if changed:
        await audit.record(
            command.command,
            actor=message.from_user.id if message.from_user else None,
            account=account.id,
            chat=message.chat.id,
            details={"kind": kind.value},
        )
    await message.answer(t(template, kind=kind.value, account=account.id))
