"""A thin HTTP control side under ``/_emulator/`` for drivers that are not Python."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.telegram.emulator import TelegramEmulator


def _refused(exc: Exception) -> web.Response:
    return web.json_response({"error": str(exc)}, status=400)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text="JSON object expected") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="JSON object expected")
    return body


def control_routes(emulator: TelegramEmulator) -> list[web.RouteDef]:
    """Routes mapping one-to-one onto the emulator's Python methods."""

    async def add_user(request: web.Request) -> web.Response:
        body = await _body(request)
        try:
            emulator.add_user(
                int(request.match_info["user_id"]),
                str(body.get("first_name", "User")),
                username=body.get("username"),
                language_code=body.get("language_code", "ru"),
                last_name=body.get("last_name"),
                phone_number=body.get("phone_number"),
            )
        except (ValueError, TypeError) as exc:
            return _refused(exc)
        return web.json_response({"ok": True})

    async def text(request: web.Request) -> web.Response:
        body = await _body(request)
        try:
            update = emulator.send_text(
                int(request.match_info["user_id"]),
                str(body["text"]),
                chat_id=body.get("chat_id"),
                reply_to=body.get("reply_to"),
            )
        except (ValueError, TypeError, KeyError) as exc:
            return _refused(exc)
        return web.json_response(update)

    async def press(request: web.Request) -> web.Response:
        body = await _body(request)
        try:
            query_id = emulator.press_button(
                int(request.match_info["user_id"]),
                int(body["chat_id"]),
                int(body["message_id"]),
                str(body["callback_data"]),
            )
        except (ValueError, TypeError, KeyError) as exc:
            return _refused(exc)
        return web.json_response({"callback_query_id": query_id})

    async def transcript(request: web.Request) -> web.Response:
        try:
            chat_id = int(request.match_info["chat_id"])
        except ValueError as exc:
            return _refused(exc)
        return web.json_response([m.to_dict() for m in emulator.transcript(chat_id)])

    return [
        web.post("/_emulator/users/{user_id}", add_user),
        web.post("/_emulator/users/{user_id}/text", text),
        web.post("/_emulator/users/{user_id}/press", press),
        web.get("/_emulator/chats/{chat_id}/transcript", transcript),
    ]
