"""Telephony commands. Only linked people get past the gate; the rest are told how to join.

A command the account's PBX cannot do is answered in words, naming the PBX.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.pbx.registry import pbx_name
from bot.services.access import Access
from bot.telegram.gates import RequireLink
from bot.telegram.identity import Identity
from bot.texts import Translator

TELEPHONY_COMMANDS = (
    "call",
    "sms",
    "balance",
    "recordings",
    "history",
    "missed",
    "campaigns",
    "report",
)


def build_router() -> Router:
    """Telephony commands no provider-capable router answered; linked people only."""
    router = Router(name=__name__)
    router.message.middleware(RequireLink())
    router.callback_query.middleware(RequireLink())
    router.message.register(not_offered, Command(*TELEPHONY_COMMANDS))
    return router


async def not_offered(
    message: Message, command: CommandObject, identity: Identity, t: Translator, access: Access
) -> None:
    """Reached only for commands no more specific handler took: the PBX does not offer it."""
    account = access.account(identity.links[0].account)
    await message.answer(t("pbx_unsupported", command=command.command, pbx=pbx_name(account)))
