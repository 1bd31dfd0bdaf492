"""Shared pieces of the Bot API side: chat access rules, members and service updates."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.telegram.limits import RateLimiter
from sandbox.telegram.models import ChatMessage, bad_request, forbidden
from sandbox.telegram.params import Params
from sandbox.telegram.state import Chat, State
from sandbox.telegram.updates import UpdateQueue, WebhookPusher

_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_send_welcome_messages": True,
}


@dataclass
class ApiContext:
    """What bot methods work on: the state, the update queue, the webhook and flood control."""

    state: State
    queue: UpdateQueue
    pusher: WebhookPusher
    limiter: RateLimiter
    closing: bool = False
    # Set while Telegram takes connections but never answers (see ``go_silent``).
    silence: asyncio.Event | None = None
    swallowed: int = 0  # requests taken and never answered while silent
    poll_generation: int = 0
    menu_buttons: dict[int, dict[str, Any]] = field(default_factory=dict)

    def find_chat(self, chat_id: int | str) -> Chat | None:
        """A chat by id or ``@username`` (people only), if Telegram knows it."""
        if isinstance(chat_id, str):
            wanted = chat_id.removeprefix("@").lower()
            if not wanted:
                return None
            for user_id, person in self.state.users.items():
                if (person.get("username") or "").lower() == wanted:
                    return self.state.chats.get(user_id)
            return None
        return self.state.chats.get(chat_id)

    def visible_chat(self, chat_id: int | str) -> Chat:
        """A chat the bot can look up (getChat and friends); 400 chat not found otherwise."""
        chat = self.find_chat(chat_id)
        if chat is None or (chat.is_group and not chat.bot_was_member):
            raise bad_request("chat not found")
        return chat

    def writable_chat(self, chat_id: int | str) -> Chat:
        """A chat the bot may post in now, or Telegram's 400/403 explaining why not."""
        chat = self.visible_chat(chat_id)
        if chat.type == "private":
            if chat.bot_status == "kicked":
                raise forbidden("bot was blocked by the user")
            if chat.bot_status != "member":
                raise forbidden("bot can't initiate conversation with a user")
            return chat
        if chat.bot_status in ("member", "administrator"):
            return chat
        kind = f"{chat.type} chat"
        if chat.bot_status == "kicked":
            raise forbidden(f"bot was kicked from the {kind}")
        raise forbidden(f"bot is not a member of the {kind}")

    def reply_target(self, chat: Chat, params: Params) -> int | None:
        """The message a new one replies to (reply_parameters or reply_to_message_id)."""
        reply = params.raw("reply_parameters")
        if isinstance(reply, dict):
            wanted = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply"))
        else:
            wanted = params.integer("reply_to_message_id")
            allow = params.flag("allow_sending_without_reply")
        if wanted is None:
            return None
        if int(wanted) in chat.messages:
            return int(wanted)
        if allow:
            return None
        raise bad_request("message to be replied not found")

    def own_message(self, chat: Chat, params: Params, missing: str) -> ChatMessage:
        """The bot's message named by message_id, or 400 ``missing``."""
        if params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        message_id = params.integer("message_id", required=True)
        message = chat.messages.get(message_id or 0)
        if message is None:
            raise bad_request(missing)
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def member(self, user_id: int, status: str) -> dict[str, Any]:
        """A ChatMember object of ``status`` for a known user or the bot."""
        member: dict[str, Any] = {"status": status, "user": self.state.user(user_id)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(_ADMIN_RIGHTS)
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def member_status(self, chat: Chat, user_id: int) -> str:
        """Someone's status in a chat: the bot's own, a private chat's owner, or a group member."""
        if user_id == self.state.bot_user["id"]:
            return chat.bot_status
        if chat.type == "private":
            return "member" if user_id == chat.id else "left"
        return chat.members.get(user_id, "left")

    def bot_status_changed(self, chat: Chat, by_user_id: int, new_status: str) -> dict[str, Any]:
        """Set the bot's status in a chat and queue the my_chat_member update Telegram sends."""
        old_status = chat.bot_status
        chat.bot_status = new_status
        if new_status in ("member", "administrator"):
            chat.bot_was_member = True
        bot_id = int(self.state.bot_user["id"])
        payload = {
            "chat": self.state.chat_object(chat),
            "from": self.state.user(by_user_id),
            "date": int(time.time()),
            "old_chat_member": self.member(bot_id, old_status),
            "new_chat_member": self.member(bot_id, new_status),
        }
        self.state.changed()
        return self.queue.push("my_chat_member", payload)
