"""Bot API parameters from JSON, urlencoded or multipart bodies (files are streamed, not kept)."""

from __future__ import annotations

import json
import mimetypes
from typing import Any

from aiohttp import BodyPartReader, web

from sandbox.telegram.models import UploadedFile, bad_request

_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "link_preview_options",
        "allowed_updates",
        "reply_parameters",
        "menu_button",
    }
)
_CHUNK = 256 * 1024


async def _stream_file(part: BodyPartReader) -> UploadedFile:
    size = 0
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
    name = part.filename or part.name or "file"
    declared = part.headers.get("Content-Type", "")
    guessed = mimetypes.guess_type(name)[0]
    if guessed is None and declared and declared != "application/octet-stream":
        guessed = declared
    return UploadedFile(name=name, size=size, mime=guessed or "application/octet-stream")


async def _read_multipart(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    fields: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.filename is not None:
            files[part.name] = await _stream_file(part)
        else:
            fields[part.name] = await part.text()
    return fields, files


async def read_params(request: web.Request) -> dict[str, Any]:
    """All parameters of a Bot API call, JSON fields decoded and ``attach://`` files resolved."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise bad_request("can't parse JSON encoded request") from exc
            if not isinstance(body, dict):
                raise bad_request("JSON object expected")
            values.update(body)
        elif ctype.startswith("multipart/"):
            fields, files = await _read_multipart(request)
            values.update(fields)
        else:
            values.update(await request.post())
    for name in _JSON_FIELDS & values.keys():
        value = values[name]
        if isinstance(value, str):
            try:
                values[name] = json.loads(value)
            except ValueError as exc:
                raise bad_request(f"can't parse {name} JSON object") from exc
    for name, value in list(values.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            attached = files.pop(value.removeprefix("attach://"), None)
            if attached is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            values[name] = attached
    values.update(files)
    return values


def printable(values: dict[str, Any]) -> dict[str, Any]:
    """Parameters as recorded in ``requests``: uploaded files become name/size/mime dicts."""
    shown = dict(values)
    for key, value in values.items():
        if isinstance(value, UploadedFile):
            shown[key] = {"name": value.name, "size": value.size, "mime": value.mime}
    return shown


class Params:
    """Typed access to one call's parameters with Telegram-style errors."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def has(self, name: str) -> bool:
        """Whether the parameter was sent at all."""
        return self.values.get(name) not in (None, "")

    def raw(self, name: str) -> Any:
        """The value as decoded, or None."""
        return self.values.get(name)

    def text(self, name: str, default: str | None = None) -> str | None:
        """A string parameter."""
        value = self.values.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        """An integer parameter; 400 if malformed, or missing when required."""
        value = self.values.get(name)
        if value in (None, ""):
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"invalid {name} specified") from exc

    def flag(self, name: str) -> bool:
        """A Boolean parameter ("true"/"1" or JSON true)."""
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def chat_id(self, name: str = "chat_id") -> int | str:
        """A chat id: an integer or an ``@username``."""
        value = self.values.get(name)
        if value in (None, ""):
            raise bad_request(f"{name} is empty")
        if isinstance(value, str) and value.startswith("@"):
            return value
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise bad_request("chat not found") from exc
