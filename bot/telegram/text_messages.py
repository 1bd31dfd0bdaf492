"""Sending and editing text messages the way the outbox sender needs it: a JSON body in,
the message id out.

Use :class:`TextMessages` for the sender's ``sendMessage`` and ``editMessageText``, its
most frequent requests. They go through the Bot's own aiogram session (its connection
pool, API server and proxy), and a refusal raises the same aiogram exception
``bot.send_message`` would (``TelegramRetryAfter``, ``TelegramBadRequest``...), but a
successful answer is not turned into a ``Message`` model and back: the sender keeps only
the message id, and those models cost more than the rest of the request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiohttp import ClientError, ClientTimeout
from aiohttp_socks import ProxyConnectionError, ProxyError

from bot.telegram.outbox import Button

Buttons = Sequence[Sequence[Button]]
JSON_HEADERS = {"Content-Type": "application/json"}


class TextMessages:
    """``sendMessage`` and ``editMessageText`` in HTML, with inline buttons."""

    def __init__(self, bot: Bot, timeout: float) -> None:
        self._bot = bot
        self._timeout = ClientTimeout(total=timeout)

    async def send(
        self, chat_id: int, text: str, buttons: Buttons, reply_to: int | None = None
    ) -> int:
        """Send ``text``; the new message's id."""
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
        if buttons:
            payload["reply_markup"] = keyboard(buttons)
        if reply_to:
            payload["reply_parameters"] = {
                "message_id": reply_to,
                "allow_sending_without_reply": True,
            }
        result = await self._call("sendMessage", payload)
        return int(result["message_id"])

    async def edit(self, chat_id: int, message_id: int, text: str, buttons: Buttons) -> None:
        """Show ``text`` and ``buttons`` in the message ``message_id`` instead."""
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": text,
            "parse_mode": "HTML",
        }
        if buttons:
            payload["reply_markup"] = keyboard(buttons)
        await self._call("editMessageText", payload)

    async def _call(self, name: str, payload: dict[str, Any]) -> Any:
        session = self._bot.session
        assert isinstance(session, AiohttpSession)  # what create_bot makes
        client = await session.create_session()
        url = session.api.api_url(token=self._bot.token, method=name)
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            async with client.post(
                url, data=body, headers=JSON_HEADERS, timeout=self._timeout
            ) as response:
                status, raw = response.status, await response.text()
        except TimeoutError as exc:
            raise TelegramNetworkError(_method(name, payload), "Request timeout error") from exc
        except ClientError as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise TelegramNetworkError(_method(name, payload), message) from exc
        except (ProxyError, ProxyConnectionError) as exc:  # as ProxyErrorMiddleware says it
            message = f"proxy: {type(exc).__name__}: {exc}"
            raise TelegramNetworkError(_method(name, payload), message) from None
        if status == 200:
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = None
            if isinstance(answer, dict) and answer.get("ok") is True:
                return answer.get("result")
        # A refusal (or an answer that makes no sense): aiogram says what it means, and
        # raises the exception it raises for its own requests.
        session.check_response(self._bot, _method(name, payload), status, raw)
        raise TelegramNetworkError(_method(name, payload), "unexpected answer")


def keyboard(buttons: Buttons) -> dict[str, Any]:
    """An ``InlineKeyboardMarkup`` as the Bot API takes it in JSON."""
    return {"inline_keyboard": [[_button(button) for button in row] for row in buttons]}


def _button(button: Button) -> dict[str, str]:
    shown = {"text": button.text}
    if button.callback_data is not None:
        shown["callback_data"] = button.callback_data
    if button.url is not None:
        shown["url"] = button.url
    return shown


def _method(name: str, payload: dict[str, Any]) -> TelegramMethod[Any]:
    """The aiogram method these were, for its exceptions (only built when one is raised)."""
    fields = {k: v for k, v in payload.items() if k not in ("reply_markup", "reply_parameters")}
    if name == "sendMessage":
        return SendMessage(**fields)
    return EditMessageText(**fields)


__all__ = ["TextMessages", "keyboard"]
