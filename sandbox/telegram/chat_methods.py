"""Bot API methods about the bot itself, updates, webhooks, commands and chats."""

from __future__ import annotations

import re
from typing import Any

from sandbox.telegram.context import ApiContext
from sandbox.telegram.models import ApiError, bad_request
from sandbox.telegram.params import Params

_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_GIFTS = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}


async def get_me(ctx: ApiContext, p: Params) -> Any:
    """getMe."""
    return {
        **ctx.state.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def get_updates(ctx: ApiContext, p: Params) -> Any:
    """getUpdates: long polling; a newer call ends an older one with 409 like Telegram."""
    if ctx.pusher.config is not None:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    offset = p.integer("offset")
    if offset is not None:
        ctx.queue.confirm(offset)
    limit = min(100, max(1, p.integer("limit") or 100))
    timeout = max(0, p.integer("timeout") or 0)
    allowed = p.raw("allowed_updates")
    ctx.queue.set_allowed(allowed if isinstance(allowed, list) else None)
    ctx.poll_generation += 1
    mine = ctx.poll_generation
    ctx.state.changed()

    def probe() -> bool | None:
        if ctx.closing or mine != ctx.poll_generation or ctx.pusher.config is not None:
            return True
        return True if ctx.queue.ready(limit) else None

    await ctx.state.signal.wait_until(probe, float(timeout))
    if mine != ctx.poll_generation:
        raise ApiError(
            409,
            "Conflict: terminated by other getUpdates request; "
            "make sure that only one bot instance is running",
        )
    if ctx.pusher.config is not None:
        return []
    return ctx.queue.ready(limit)


async def set_webhook(ctx: ApiContext, p: Params) -> Any:
    """setWebhook (plain http is accepted so a loopback server can receive updates)."""
    url = p.text("url", "") or ""
    if not url:
        return await delete_webhook(ctx, p)
    if not url.lower().startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.text("secret_token")
    if secret is not None and not _SECRET.match(secret):
        raise bad_request("bad webhook: secret token contains unallowed characters")
    if p.flag("drop_pending_updates"):
        ctx.queue.drop_all()
    allowed = p.raw("allowed_updates")
    ctx.queue.set_allowed(allowed if isinstance(allowed, list) else None)
    config = {
        "url": url,
        "secret_token": secret,
        "allowed_updates": ctx.queue.allowed,
        "max_connections": p.integer("max_connections") or 40,
    }
    ctx.pusher.config = config
    ctx.state.webhook = config
    ctx.state.changed()
    return True


async def delete_webhook(ctx: ApiContext, p: Params) -> Any:
    """deleteWebhook."""
    if p.flag("drop_pending_updates"):
        ctx.queue.drop_all()
    ctx.pusher.config = None
    ctx.state.webhook = None
    ctx.state.changed()
    return True


async def get_webhook_info(ctx: ApiContext, p: Params) -> Any:
    """getWebhookInfo."""
    config = ctx.pusher.config or {}
    info: dict[str, Any] = {
        "url": config.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(ctx.queue.pending),
    }
    if config:
        info["max_connections"] = config["max_connections"]
        if ctx.queue.allowed:
            info["allowed_updates"] = ctx.queue.allowed
    if ctx.pusher.last_error is not None:
        info["last_error_date"], info["last_error_message"] = ctx.pusher.last_error
    return info


def _commands_key(ctx: ApiContext, p: Params) -> tuple[str, str]:
    scope = p.raw("scope") or {"type": "default"}
    if not isinstance(scope, dict):
        raise bad_request("can't parse BotCommandScope")
    kind = scope.get("type")
    if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
        key = str(kind)
    elif kind in ("chat", "chat_administrators", "chat_member"):
        chat = ctx.visible_chat(scope.get("chat_id") or "")
        key = f"{kind}:{chat.id}"
        if kind == "chat_member":
            key += f":{int(scope.get('user_id') or 0)}"
    else:
        raise bad_request("can't parse BotCommandScope")
    language = p.text("language_code", "") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language code specified")
    return key, language


async def set_my_commands(ctx: ApiContext, p: Params) -> Any:
    """setMyCommands; an empty list removes the commands of that scope and language."""
    commands = p.raw("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND.match(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    key = _commands_key(ctx, p)
    if commands:
        ctx.state.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
    else:
        ctx.state.commands.pop(key, None)
    ctx.state.changed()
    return True


async def get_my_commands(ctx: ApiContext, p: Params) -> Any:
    """getMyCommands."""
    return ctx.state.commands.get(_commands_key(ctx, p), [])


async def delete_my_commands(ctx: ApiContext, p: Params) -> Any:
    """deleteMyCommands."""
    ctx.state.commands.pop(_commands_key(ctx, p), None)
    ctx.state.changed()
    return True


async def set_chat_menu_button(ctx: ApiContext, p: Params) -> Any:
    """setChatMenuButton."""
    chat_id = ctx.visible_chat(p.chat_id()).id if p.has("chat_id") else 0
    button = p.raw("menu_button")
    ctx.menu_buttons[chat_id] = button if isinstance(button, dict) else {"type": "default"}
    return True


async def get_chat_menu_button(ctx: ApiContext, p: Params) -> Any:
    """getChatMenuButton."""
    chat_id = ctx.visible_chat(p.chat_id()).id if p.has("chat_id") else 0
    return ctx.menu_buttons.get(chat_id, ctx.menu_buttons.get(0, {"type": "commands"}))


async def get_chat(ctx: ApiContext, p: Params) -> Any:
    """getChat."""
    chat = ctx.visible_chat(p.chat_id())
    return {
        **ctx.state.chat_object(chat),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": dict(_GIFTS),
    }


async def get_chat_member(ctx: ApiContext, p: Params) -> Any:
    """getChatMember."""
    chat = ctx.visible_chat(p.chat_id())
    user_id = p.integer("user_id", required=True) or 0
    if user_id not in ctx.state.users and user_id != ctx.state.bot_user["id"]:
        raise bad_request("user not found")
    return ctx.member(user_id, ctx.member_status(chat, user_id))


async def get_chat_administrators(ctx: ApiContext, p: Params) -> Any:
    """getChatAdministrators."""
    chat = ctx.visible_chat(p.chat_id())
    if not chat.is_group:
        raise bad_request("there are no administrators in the private chat")
    admins = [
        ctx.member(user_id, status)
        for user_id, status in chat.members.items()
        if status in ("creator", "administrator")
    ]
    if chat.bot_status == "administrator":
        admins.append(ctx.member(int(ctx.state.bot_user["id"]), "administrator"))
    return admins


async def leave_chat(ctx: ApiContext, p: Params) -> Any:
    """leaveChat."""
    chat = ctx.visible_chat(p.chat_id())
    if not chat.is_group:
        raise bad_request("chat member status can't be changed in private chats")
    if chat.bot_status not in ("member", "administrator"):
        raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
    ctx.bot_status_changed(chat, int(ctx.state.bot_user["id"]), "left")
    return True


async def always_true(ctx: ApiContext, p: Params) -> Any:
    """close and logOut: nothing to do offline."""
    return True


METHODS = {
    "getMe": get_me,
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "setChatMenuButton": set_chat_menu_button,
    "getChatMenuButton": get_chat_menu_button,
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "getChatAdministrators": get_chat_administrators,
    "leaveChat": leave_chat,
    "close": always_true,
    "logOut": always_true,
}
