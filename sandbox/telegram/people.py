"""What people do: write, share contacts, press buttons, add or block the bot."""

from __future__ import annotations

import re
from typing import Any

from sandbox.telegram.context import ApiContext
from sandbox.telegram.models import ChatMessage
from sandbox.telegram.state import Chat

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


class People:
    """The injecting half of TelegramEmulator; each action queues the Update Telegram would."""

    _ctx: ApiContext
    _next_query_id: int

    def add_user(
        self,
        user_id: int,
        first_name: str = "User",
        *,
        username: str | None = None,
        language_code: str | None = "ru",
        last_name: str | None = None,
        phone_number: str | None = None,
        started: bool = True,
    ) -> None:
        """Register a person; ``started`` means they have opened the bot, so it may write them."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        optional = {"last_name": last_name, "username": username, "language_code": language_code}
        user.update({key: value for key, value in optional.items() if value is not None})
        state = self._ctx.state
        state.users[user_id] = user
        if phone_number is not None:
            state.phones[user_id] = phone_number
        chat = state.chats.setdefault(user_id, Chat(id=user_id, type="private"))
        if started and chat.bot_status == "left":
            chat.bot_status = "member"
            chat.bot_was_member = True
        state.changed()

    def add_group(self, chat_id: int, title: str, *, supergroup: bool = False) -> None:
        """Register a group (negative id); the bot is not in it until add_bot_to_group()."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = self._ctx.state.chats.setdefault(chat_id, Chat(id=chat_id, type="group"))
        chat.title = title
        chat.type = "supergroup" if supergroup else "group"
        self._ctx.state.changed()

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """Set a person's ChatMember status in a group (creator, administrator, member, left)."""
        self._ctx.state.user(user_id)
        self._group(chat_id).members[user_id] = status
        self._ctx.state.changed()

    def _group(self, chat_id: int) -> Chat:
        chat = self._ctx.state.chat(chat_id)
        if not chat.is_group:
            raise ValueError(f"chat {chat_id} is not a group")
        return chat

    def block(self, user_id: int) -> dict[str, Any]:
        """The person blocks the bot: sends to them now fail with 403."""
        chat = self._ctx.state.chat(user_id)
        return self._ctx.bot_status_changed(chat, user_id, "kicked")

    def unblock(self, user_id: int) -> dict[str, Any]:
        """The person unblocks the bot."""
        chat = self._ctx.state.chat(user_id)
        return self._ctx.bot_status_changed(chat, user_id, "member")

    def _post(
        self,
        user_id: int,
        chat_id: int | None,
        reply_to: int | None,
        content: dict[str, Any],
        *,
        text: str = "",
        contact: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        state = self._ctx.state
        user = state.user(user_id)
        chat = state.chat(user_id if chat_id is None else chat_id)
        if chat.type == "private" and chat.id != user_id:
            raise ValueError(f"user {user_id} cannot write in someone else's private chat")
        if reply_to is not None and reply_to not in chat.messages:
            raise ValueError(f"no message {reply_to} in chat {chat.id} to reply to")
        if chat.type == "private" and chat.bot_status == "kicked":
            self._ctx.bot_status_changed(chat, user_id, "member")
        elif chat.type == "private":
            chat.bot_status = "member"
            chat.bot_was_member = True
        else:
            chat.members.setdefault(user_id, "member")
        raw = state.new_raw(chat, user, reply_to)
        raw.update(content)
        message = ChatMessage(
            message_id=raw["message_id"],
            chat_id=chat.id,
            from_bot=False,
            text=text,
            reply_to=reply_to,
            contact=contact,
            raw=raw,
        )
        state.store(message)
        if chat.is_group and chat.bot_status not in ("member", "administrator"):
            return {"message": raw}
        return self._ctx.queue.push("message", raw)

    def send_text(
        self, user_id: int, text: str, *, chat_id: int | None = None, reply_to: int | None = None
    ) -> dict[str, Any]:
        """The person writes ``text`` (private chat unless ``chat_id``); returns the Update.

        A leading command gets a bot_command entity. Group messages reach the bot only while
        it is a member (all of them: privacy mode is not emulated); otherwise the message is
        only added to the transcript and the returned dict has no ``update_id``.
        """
        content: dict[str, Any] = {"text": text}
        command = _COMMAND.match(text)
        if command:
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        return self._post(user_id, chat_id, reply_to, content, text=text)

    def share_contact(
        self,
        user_id: int,
        phone_number: str,
        *,
        contact_user_id: int | None = None,
        first_name: str = "Contact",
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """The person shares a contact card (their own when ``contact_user_id`` is theirs)."""
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self._post(user_id, chat_id, None, {"contact": contact}, contact=contact)

    def press_button(self, user_id: int, chat_id: int, message_id: int, callback_data: str) -> str:
        """The person presses an inline button that exists; returns the callback query id."""
        state = self._ctx.state
        user = state.user(user_id)
        chat = state.chat(chat_id)
        if chat.type == "private" and chat.id != user_id:
            raise ValueError(f"user {user_id} cannot see private chat {chat_id}")
        message = chat.messages.get(message_id)
        if message is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        if not any(b.callback_data == callback_data for row in message.buttons for b in row):
            raise ValueError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"buttons: {[(b.text, b.callback_data) for row in message.buttons for b in row]}"
            )
        self._next_query_id += 1
        query_id = str(self._next_query_id)
        state.callback_queries[query_id] = (state.clock(), chat_id)
        payload = {
            "id": query_id,
            "from": user,
            "message": dict(message.raw),
            "chat_instance": str(abs(chat_id) * 7919 + 13),
            "data": callback_data,
        }
        self._ctx.queue.push("callback_query", payload)
        return query_id

    def add_bot_to_group(self, chat_id: int, by_user_id: int) -> dict[str, Any]:
        """Someone adds the bot to a group (creating it if unknown); returns my_chat_member."""
        self._ctx.state.user(by_user_id)
        if chat_id not in self._ctx.state.chats:
            self.add_group(chat_id, f"Group {abs(chat_id)}")
        chat = self._group(chat_id)
        if chat.bot_status in ("member", "administrator"):
            raise ValueError(f"the bot is already in chat {chat_id}")
        chat.members.setdefault(by_user_id, "administrator")
        return self._ctx.bot_status_changed(chat, by_user_id, "member")

    def remove_bot_from_group(self, chat_id: int, by_user_id: int) -> dict[str, Any]:
        """Someone removes the bot from a group; returns the my_chat_member update."""
        self._ctx.state.user(by_user_id)
        chat = self._group(chat_id)
        if chat.bot_status not in ("member", "administrator"):
            raise ValueError(f"the bot is not in chat {chat_id}")
        status = "kicked" if chat.type == "supergroup" else "left"
        return self._ctx.bot_status_changed(chat, by_user_id, status)
