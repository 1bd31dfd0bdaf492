"""``/mobile``: the person's own mobile number, where "📲 To my mobile" sends a ringing
call. ``/mobile +7 999 123-45-67`` sets it (a valid number only), ``/mobile off`` forgets
it, ``/mobile`` alone shows it.
"""

from __future__ import annotations

import phonenumbers
from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from redis.asyncio import Redis

from bot.config import Settings
from bot.phones import display, normalise
from bot.storage import Keys
from bot.telegram.gates import RequireLink
from bot.telegram.identity import Identity
from bot.texts import Translator

OFF = {"off", "выкл", "нет", "-"}


def build_router() -> Router:
    """``/mobile``; linked people only."""
    router = Router(name=__name__)
    router.message.middleware(RequireLink())
    router.message.register(mobile, Command("mobile"))
    return router


async def mobile(
    message: Message,
    command: CommandObject,
    identity: Identity,
    t: Translator,
    settings: Settings,
    redis: Redis,
    keys: Keys,
) -> None:
    key = keys.mobile(identity.telegram_id)
    args = (command.args or "").strip()
    if not args:
        current = await redis.get(key)
        if current:
            await message.answer(t.label("control.mobile_is", number=display(str(current))))
        else:
            await message.answer(t.label("control.mobile_none"))
        return
    if args.lower() in OFF:
        await redis.delete(key)
        await message.answer(t.label("control.mobile_forgotten"))
        return
    account = settings.account(identity.links[0].account)
    number = normalise(args, account.region if account else "RU")
    if number is None or not phonenumbers.is_valid_number(phonenumbers.parse(number, None)):
        await message.answer(t.label("control.bad_number"))
        return
    await redis.set(key, number)
    await message.answer(t.label("control.mobile_set", number=display(number)))
