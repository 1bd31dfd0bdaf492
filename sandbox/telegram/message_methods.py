"""Bot API methods that post, change or remove messages, and answer button presses."""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.telegram.context import ApiContext
from sandbox.telegram.keyboards import parse_markup
from sandbox.telegram.models import ApiError, ChatMessage, UploadedFile, bad_request
from sandbox.telegram.params import Params
from sandbox.telegram.validation import format_text

MAX_UPLOAD = 50 * 1024 * 1024
MAX_PHOTO = 10 * 1024 * 1024
CALLBACK_TTL = 15 * 60
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


async def send_message(ctx: ApiContext, p: Params) -> Any:
    """sendMessage."""
    chat = ctx.writable_chat(p.chat_id())
    html = p.text("text", "") or ""
    plain, entities = format_text(html, p.text("parse_mode"), p.raw("entities"))
    markup = parse_markup(p.raw("reply_markup"))
    reply_to = ctx.reply_target(chat, p)
    ctx.limiter.check_send(chat.id, group=chat.is_group)
    raw = ctx.state.new_raw(chat, ctx.state.bot_user, reply_to)
    raw["text"] = plain
    if entities:
        raw["entities"] = entities
    if isinstance(p.raw("link_preview_options"), dict):
        raw["link_preview_options"] = p.raw("link_preview_options")
    if markup.inline:
        raw["reply_markup"] = markup.inline
    message = ChatMessage(
        message_id=raw["message_id"],
        chat_id=chat.id,
        from_bot=True,
        text=plain,
        html=html,
        buttons=markup.buttons,
        reply_keyboard=markup.reply_keyboard,
        reply_to=reply_to,
        raw=raw,
    )
    return ctx.state.store(message).raw


def _file_info(ctx: ApiContext, kind: str, value: Any) -> dict[str, Any]:
    if isinstance(value, UploadedFile):
        if value.size > MAX_UPLOAD:
            raise ApiError(413, "Request Entity Too Large")
        if value.size == 0:
            raise bad_request("file must be non-empty")
        if kind == "photo" and value.size > MAX_PHOTO:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        info = {"kind": kind, "name": value.name, "size": value.size, "mime": value.mime}
    elif isinstance(value, str) and value in ctx.state.files:
        return {**ctx.state.files[value], "kind": kind}
    elif isinstance(value, str) and value.lower().startswith(("http://", "https://")):
        name = value.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "file"
        info = {"kind": kind, "name": name, "size": 0, "mime": "application/octet-stream"}
    elif value in (None, ""):
        raise bad_request(f"there is no {kind} in the request")
    else:
        raise bad_request("wrong file identifier/HTTP URL specified")
    file_id = f"{kind}-{uuid.uuid4().hex}"
    info["file_id"] = file_id
    ctx.state.files[file_id] = info
    return info


def _media_object(info: dict[str, Any]) -> Any:
    ids = {"file_id": info["file_id"], "file_unique_id": info["file_id"][-16:]}
    if info["kind"] == "photo":
        return [{**ids, "width": 1280, "height": 720, "file_size": info["size"]}]
    media = {**ids, "file_name": info["name"], "mime_type": info["mime"]}
    media["file_size"] = info["size"]
    if info["kind"] == "audio":
        media["duration"] = 0
    return media


async def _send_media(ctx: ApiContext, p: Params, kind: str) -> Any:
    chat = ctx.writable_chat(p.chat_id())
    info = _file_info(ctx, kind, p.raw(kind))
    html = p.text("caption", "") or ""
    caption, entities = format_text(
        html, p.text("parse_mode"), p.raw("caption_entities"), caption=True
    )
    markup = parse_markup(p.raw("reply_markup"))
    reply_to = ctx.reply_target(chat, p)
    ctx.limiter.check_send(chat.id, group=chat.is_group)
    raw = ctx.state.new_raw(chat, ctx.state.bot_user, reply_to)
    raw[kind] = _media_object(info)
    if caption:
        raw["caption"] = caption
    if entities:
        raw["caption_entities"] = entities
    if markup.inline:
        raw["reply_markup"] = markup.inline
    message = ChatMessage(
        message_id=raw["message_id"],
        chat_id=chat.id,
        from_bot=True,
        text=caption,
        html=html or None,
        buttons=markup.buttons,
        reply_keyboard=markup.reply_keyboard,
        reply_to=reply_to,
        file=info,
        raw=raw,
    )
    return ctx.state.store(message).raw


async def send_audio(ctx: ApiContext, p: Params) -> Any:
    """sendAudio."""
    return await _send_media(ctx, p, "audio")


async def send_document(ctx: ApiContext, p: Params) -> Any:
    """sendDocument."""
    return await _send_media(ctx, p, "document")


async def send_photo(ctx: ApiContext, p: Params) -> Any:
    """sendPhoto."""
    return await _send_media(ctx, p, "photo")


def _with(raw: dict[str, Any], key: str, value: Any) -> None:
    if value:
        raw[key] = value
    else:
        raw.pop(key, None)


async def edit_message_text(ctx: ApiContext, p: Params) -> Any:
    """editMessageText."""
    chat = ctx.writable_chat(p.chat_id())
    message = ctx.own_message(chat, p, "message to edit not found")
    if message.file is not None:
        raise bad_request("there is no text in the message to edit")
    html = p.text("text", "") or ""
    plain, entities = format_text(html, p.text("parse_mode"), p.raw("entities"))
    markup = parse_markup(p.raw("reply_markup"), inline_only=True)
    old = message.raw
    if (plain, entities, markup.inline) == (
        old.get("text"),
        old.get("entities", []),
        old.get("reply_markup"),
    ):
        raise bad_request(_NOT_MODIFIED)
    ctx.limiter.check_edit(chat.id)
    raw = dict(old)
    raw["text"] = plain
    _with(raw, "entities", entities)
    _with(raw, "reply_markup", markup.inline)
    edited = ctx.state.edit(message, raw=raw, text=plain, html=html, buttons=markup.buttons)
    return edited.raw


async def edit_message_caption(ctx: ApiContext, p: Params) -> Any:
    """editMessageCaption."""
    chat = ctx.writable_chat(p.chat_id())
    message = ctx.own_message(chat, p, "message to edit not found")
    if message.file is None:
        raise bad_request("there is no caption in the message to edit")
    html = p.text("caption", "") or ""
    caption, entities = format_text(
        html, p.text("parse_mode"), p.raw("caption_entities"), caption=True
    )
    markup = parse_markup(p.raw("reply_markup"), inline_only=True)
    old = message.raw
    if (caption, entities, markup.inline) == (
        old.get("caption", ""),
        old.get("caption_entities", []),
        old.get("reply_markup"),
    ):
        raise bad_request(_NOT_MODIFIED)
    ctx.limiter.check_edit(chat.id)
    raw = dict(old)
    _with(raw, "caption", caption)
    _with(raw, "caption_entities", entities)
    _with(raw, "reply_markup", markup.inline)
    edited = ctx.state.edit(
        message, raw=raw, text=caption, html=html or None, buttons=markup.buttons
    )
    return edited.raw


async def edit_message_reply_markup(ctx: ApiContext, p: Params) -> Any:
    """editMessageReplyMarkup."""
    chat = ctx.writable_chat(p.chat_id())
    message = ctx.own_message(chat, p, "message to edit not found")
    markup = parse_markup(p.raw("reply_markup"), inline_only=True)
    if markup.inline == message.raw.get("reply_markup"):
        raise bad_request(_NOT_MODIFIED)
    ctx.limiter.check_edit(chat.id)
    raw = dict(message.raw)
    _with(raw, "reply_markup", markup.inline)
    return ctx.state.edit(message, raw=raw, buttons=markup.buttons).raw


async def delete_message(ctx: ApiContext, p: Params) -> Any:
    """deleteMessage: own messages anywhere, others' in private chats or as a group admin."""
    chat = ctx.writable_chat(p.chat_id())
    message_id = p.integer("message_id", required=True) or 0
    message = chat.messages.get(message_id)
    if message is None:
        raise bad_request("message to delete not found")
    if not message.from_bot and chat.is_group and chat.bot_status != "administrator":
        raise bad_request("message can't be deleted")
    ctx.state.delete(chat.id, message_id)
    return True


async def answer_callback_query(ctx: ApiContext, p: Params) -> Any:
    """answerCallbackQuery: once per query, within 15 minutes of the press."""
    query_id = p.text("callback_query_id", "") or ""
    pressed = ctx.state.callback_queries.get(query_id)
    if (
        pressed is None
        or ctx.state.clock() - pressed[0] > CALLBACK_TTL
        or query_id in ctx.state.callback_answers
    ):
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    answer: dict[str, Any] = {"text": p.text("text"), "show_alert": p.flag("show_alert")}
    if p.has("url"):
        answer["url"] = p.text("url")
    if p.has("cache_time"):
        answer["cache_time"] = p.integer("cache_time")
    ctx.state.callback_answers[query_id] = answer
    ctx.state.changed()
    return True


async def send_chat_action(ctx: ApiContext, p: Params) -> Any:
    """sendChatAction."""
    ctx.writable_chat(p.chat_id())
    if p.text("action") not in _ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


METHODS = {
    "sendMessage": send_message,
    "sendAudio": send_audio,
    "sendDocument": send_document,
    "sendPhoto": send_photo,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "answerCallbackQuery": answer_callback_query,
    "sendChatAction": send_chat_action,
}
