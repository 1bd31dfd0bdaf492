"""Notes and tags on calls: a text reply to a card, alert, summary or recording becomes a
note on that call (every copy shows it, with its author); a tag button on a card after
the call sets or clears an outcome tag.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message
from redis.asyncio import Redis

from bot.config import Settings
from bot.domain import CallNote
from bot.pipeline.caller_view import tag_label
from bot.services.call_log import CallLog
from bot.services.call_notes import CallNotes
from bot.storage import Keys
from bot.telegram.callbacks import TagCallback
from bot.telegram.gates import RequireLink
from bot.telegram.identity import Identity
from bot.texts import Translator


class RepliesToCall(Filter):
    """A text (not a command) replying to one of the bot's messages about a call; gives
    the handler ``call_account`` and ``call_id``."""

    async def __call__(self, message: Message, redis: Redis, keys: Keys) -> bool | dict[str, Any]:
        reply = message.reply_to_message
        text = message.text or ""
        if reply is None or not text.strip() or text.startswith("/"):
            return False
        if reply.from_user is None or not reply.from_user.is_bot:
            return False
        about = await redis.get(keys.message_about(message.chat.id, reply.message_id))
        if not about:
            return False
        account, call_id = str(about).split(" ", 1)
        return {"call_account": account, "call_id": call_id}


def build_router() -> Router:
    """Replies that are notes, and tag buttons; linked people only."""
    router = Router(name=__name__)
    router.message.middleware(RequireLink())
    router.callback_query.middleware(RequireLink())
    router.message.register(add_note, F.text, RepliesToCall())
    router.callback_query.register(toggle_tag, TagCallback.filter())
    return router


async def add_note(
    message: Message,
    identity: Identity,
    t: Translator,
    call_notes: CallNotes,
    call_account: str,
    call_id: str,
) -> None:
    if not any(link.account == call_account for link in identity.links):
        await message.reply(t("note_not_yours"))
        return
    note = CallNote(
        author=identity.user.first_name or identity.user.display_name,
        author_id=identity.telegram_id,
        text=message.text or "",
        at=datetime.now(UTC),
    )
    if not await call_notes.add_note(call_account, call_id, note):
        await message.reply(t("note_call_gone"))
        return
    await message.reply(t("note_added"))


async def toggle_tag(
    query: CallbackQuery,
    callback_data: TagCallback,
    identity: Identity,
    t: Translator,
    settings: Settings,
    call_notes: CallNotes,
    call_log: CallLog,
) -> None:
    call = await call_log.by_ref(callback_data.ref)
    account = settings.account(call.account) if call else None
    if call is None or account is None or callback_data.tag >= len(account.tags):
        await query.answer(t.label("notices.call_gone"))
        return
    if not any(link.account == call.account for link in identity.links):
        await query.answer(t.label("notices.not_your_call"))
        return
    tag = account.tags[callback_data.tag]
    tags = await call_notes.toggle_tag(call.account, call.call_id, tag, account.tags)
    if tags is None:
        await query.answer(t.label("notices.call_gone"))
        return
    shown = tag_label(t, tag)
    await query.answer(("🏷 " if tag in tags else "✖ ") + shown)
