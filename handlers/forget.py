"""``/forget NUMBER``: admins remove a client's number from everything the bot stores,
after a confirmation ("Forget" / "Cancel"). Messages already in chats stay; the answer
says how many there are."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from redis.asyncio import Redis

from bot.config import Settings
from bot.domain import Role
from bot.phones import display
from bot.services.audit import AuditLog
from bot.services.forget import KINDS, Forgetter, forget_number, salt_of
from bot.storage import Keys
from bot.telegram.callbacks import ForgetCallback
from bot.telegram.gates import RequireRole
from bot.telegram.identity import Identity
from bot.texts import Translator


def build_router() -> Router:
    """``/forget`` and its buttons; admins only, in private chats."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.middleware(RequireRole(Role.ADMIN))
    router.callback_query.middleware(RequireRole(Role.ADMIN))
    router.message.register(ask, Command("forget"))
    router.callback_query.register(decide, ForgetCallback.filter())
    return router


async def ask(
    message: Message,
    command: CommandObject,
    t: Translator,
    redis: Redis,
    keys: Keys,
    settings: Settings,
) -> None:
    forgetter = Forgetter(redis, keys, settings.accounts)
    numbers = forgetter.numbers(command.args or "")
    if not numbers:
        await message.answer(t("forget_usage"))
        return
    number = numbers[0]
    buttons = [
        InlineKeyboardButton(
            text=t.label("forget.confirm"),
            callback_data=ForgetCallback(forget=True, number=number.lstrip("+")).pack(),
        ),
        InlineKeyboardButton(
            text=t.label("forget.cancel"),
            callback_data=ForgetCallback(forget=False, number=number.lstrip("+")).pack(),
        ),
    ]
    await message.answer(
        t("forget_confirm", number=display(number)),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons]),
    )


async def decide(
    query: CallbackQuery,
    callback_data: ForgetCallback,
    identity: Identity,
    t: Translator,
    redis: Redis,
    keys: Keys,
    settings: Settings,
    audit: AuditLog,
) -> None:
    if not callback_data.forget:
        await _answer(query, t("forget_cancelled"))
        return
    forgetter = Forgetter(redis, keys, settings.accounts)
    forgotten = await forget_number(
        forgetter,
        audit,
        f"+{callback_data.number}",
        actor=identity.telegram_id,
        salt=salt_of(settings),
    )
    if forgotten is None:
        await _answer(query, t("forget_usage"))
        return
    counts = [
        (t.label(f"forget.kinds.{kind}"), forgotten.counts[kind])
        for kind in KINDS
        if kind != "sent" and forgotten.counts[kind]
    ]
    await _answer(query, t("forget_done", counts=counts, sent=forgotten.sent))


async def _answer(query: CallbackQuery, text: str) -> None:
    """Replace the question (and its buttons) with ``text``."""
    if isinstance(query.message, Message):
        await query.message.edit_text(text)
    await query.answer()
