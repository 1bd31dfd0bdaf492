"""The relay format: reading a ``create_call`` / ``update_call`` request and checking it.

The PBX script posts a form, urlencoded or multipart (``curl --form``), to
``/pbx/{account}/calls/{secret}``. :func:`read_body` streams it (an ``audio_record`` upload
goes to a :class:`~bot.pbx.relay.recordings.RecordingStore` chunk by chunk, never whole into
memory) and :func:`read_request` applies the format's rules, raising
:class:`~bot.pbx.base.WebhookMalformed` (400) with a sentence naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, StreamReader

from bot.events import Direction
from bot.pbx.base import Inbound, WebhookMalformed
from bot.pbx.relay.recordings import RecordingStore, Upload
from bot.pbx.wire import form_fields

CREATE = "create_call"
UPDATE = "update_call"
ACTIVE_STATUSES = ("ringing", "in-progress")
FINAL_STATUSES = ("canceled", "missed", "failed", "answered", "busy")
STATUSES = ACTIVE_STATUSES + FINAL_STATUSES
DIRECTIONS = {"incoming": Direction.INBOUND, "outgoing": Direction.OUTBOUND}
TARGET_LISTS = ("user_ids", "group_ids", "pbx_user_ids")
AUDIO_FIELD = "audio_record"
# Every field either action reads; a multipart form's other parts are skipped unread.
FIELDS = frozenset(
    {
        *("action", "direction", "phone", "call_status", "comment", AUDIO_FIELD),
        *("call_id", "pbx_call_id", "user_id", "pbx_user_id", *TARGET_LISTS),
    }
)

MAX_FORM_BYTES = 64 * 1024  # a request without a file
MAX_FIELD_BYTES = 8 * 1024  # one text field of a multipart request
MAX_FIELDS = 200
MAX_ID_LENGTH = 64
MAX_COMMENT_LENGTH = 2000
_LIST_NAME = re.compile(r"^(?P<name>[a-z_]+)\[\d*\]$")
_NUMBER = re.compile(r"^\d{1,18}$")


@dataclass(frozen=True)
class RelayRequest:
    """One checked request of the relay format."""

    action: str
    call_status: str
    direction: Direction | None = None  # create only
    phone: str | None = None  # create only
    pbx_call_id: str | None = None
    call_id: int | None = None  # update only: the id we answered create_call with
    pbx_user_ids: tuple[str, ...] = ()
    user_ids: tuple[int, ...] = ()
    group_ids: tuple[int, ...] = ()
    user_id: int | None = None
    pbx_user_id: str | None = None
    comment: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        return self.call_status in FINAL_STATUSES


async def read_body(
    inbound: Inbound, content: StreamReader, store: RecordingStore
) -> tuple[dict[str, list[str]], Upload | None]:
    """The form fields (list names without ``[]``) and the stored upload, if any."""
    content_type = inbound.header("Content-Type").lower()
    if content_type.startswith("multipart/form-data"):
        return await _read_multipart(inbound, content, store)
    if content_type.startswith("application/x-www-form-urlencoded"):
        body = await _read_at_most(content, MAX_FORM_BYTES + 1)
        if len(body) > MAX_FORM_BYTES:
            raise WebhookMalformed("the form is too large (a file goes as multipart/form-data)")
        return _decode_urlencoded(body), None
    raise WebhookMalformed("expected multipart/form-data or application/x-www-form-urlencoded")


async def _read_at_most(content: StreamReader, limit: int) -> bytes:
    data = bytearray()
    while len(data) < limit and (chunk := await content.read(limit - len(data))):
        data += chunk
    return bytes(data)


def _decode_urlencoded(body: bytes) -> dict[str, list[str]]:
    try:
        pairs = form_fields(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookMalformed("the body is not form data") from None
    fields: dict[str, list[str]] = {}
    for name, values in pairs.items():
        fields.setdefault(_field_name(name), []).extend(values)
    return fields


async def _read_multipart(
    inbound: Inbound, content: StreamReader, store: RecordingStore
) -> tuple[dict[str, list[str]], Upload | None]:
    reader = MultipartReader(dict(inbound.headers), content)
    fields: dict[str, list[str]] = {}
    upload: Upload | None = None
    count = 0
    try:
        while (part := await reader.next()) is not None:
            count += 1
            if count > MAX_FIELDS or not isinstance(part, BodyPartReader) or part.name is None:
                raise WebhookMalformed("the form has too many or unnamed parts")
            name = _field_name(part.name)
            if name not in FIELDS:  # a file or a long value of the script's own: unread
                await part.release()
                continue
            if name == AUDIO_FIELD and part.filename is not None:
                if upload is not None:
                    raise WebhookMalformed("only one audio_record file may be sent")
                upload = await store.receive(part)
                continue
            fields.setdefault(name, []).append(await _text(part))
    except WebhookMalformed:
        if upload is not None:
            await store.discard(upload)
        raise
    except ValueError:  # aiohttp: a broken multipart body
        if upload is not None:
            await store.discard(upload)
        raise WebhookMalformed("the body is not valid multipart/form-data") from None
    return fields, upload


async def _text(part: BodyPartReader) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(MAX_FIELD_BYTES):
        data += chunk
        if len(data) > MAX_FIELD_BYTES:
            raise WebhookMalformed(f"{part.name}: the value is too long")
    try:
        return data.decode(part.get_charset(default="utf-8"))
    except (UnicodeDecodeError, LookupError):
        raise WebhookMalformed(f"{part.name}: not UTF-8 text") from None


def _field_name(name: str) -> str:
    """``pbx_user_ids[]`` and ``pbx_user_ids[0]`` are both ``pbx_user_ids``."""
    match = _LIST_NAME.match(name)
    return match.group("name") if match else name


# the format's rules --------------------------------------------------------------------
def read_request(fields: Mapping[str, list[str]], *, has_audio: bool = False) -> RelayRequest:
    """Check the fields of one request; WebhookMalformed names the first broken rule.

    Only the fields of the action's table are read; any other field (``direction`` on
    ``update_call``, ``call_id`` on ``create_call``, a field the format has not) is ignored.
    """
    if AUDIO_FIELD in fields and any(fields[AUDIO_FIELD]):
        raise WebhookMalformed("audio_record must be a file sent as multipart/form-data")
    action = _one(fields, "action")
    if action == CREATE:
        return _create(fields, has_audio)
    if action == UPDATE:
        return _update(fields, has_audio)
    if action is None:
        raise WebhookMalformed("action is required (create_call or update_call)")
    raise WebhookMalformed(f"action must be create_call or update_call, not {action!r}")


def _create(fields: Mapping[str, list[str]], has_audio: bool) -> RelayRequest:
    direction = _one(fields, "direction")
    if direction is None:
        raise WebhookMalformed("direction is required for create_call (incoming or outgoing)")
    if direction not in DIRECTIONS:
        raise WebhookMalformed(f"direction must be incoming or outgoing, not {direction!r}")
    phone = _one(fields, "phone")
    if phone is None:
        raise WebhookMalformed("phone is required for create_call")
    if len(phone) > MAX_ID_LENGTH:
        raise WebhookMalformed("phone is too long")
    given = [name for name in TARGET_LISTS if _many(fields, name)]
    if len(given) > 1:
        raise WebhookMalformed("send only one of user_ids, group_ids or pbx_user_ids")
    return RelayRequest(
        action=CREATE,
        call_status=_status(fields, default="ringing"),
        direction=DIRECTIONS[direction],
        phone=phone,
        pbx_call_id=_id(fields, "pbx_call_id"),
        pbx_user_ids=tuple(_ids(fields, "pbx_user_ids")),
        user_ids=tuple(_numbers(fields, "user_ids")),
        group_ids=tuple(_numbers(fields, "group_ids")),
        comment=_comment(fields),
        raw=_raw(fields, has_audio),
    )


def _update(fields: Mapping[str, list[str]], has_audio: bool) -> RelayRequest:
    call_id = _number(fields, "call_id")
    pbx_call_id = _id(fields, "pbx_call_id")
    if call_id is None and pbx_call_id is None:
        raise WebhookMalformed("update_call needs call_id or pbx_call_id")
    if call_id is not None and pbx_call_id is not None:
        raise WebhookMalformed("send only one of call_id or pbx_call_id")
    user_id = _number(fields, "user_id")
    pbx_user_id = _id(fields, "pbx_user_id")
    if user_id is not None and pbx_user_id is not None:
        raise WebhookMalformed("send only one of user_id or pbx_user_id")
    if _one(fields, "call_status") is None:
        raise WebhookMalformed("call_status is required for update_call")
    return RelayRequest(
        action=UPDATE,
        call_status=_status(fields, default=None),
        call_id=call_id,
        pbx_call_id=pbx_call_id,
        user_id=user_id,
        pbx_user_id=pbx_user_id,
        comment=_comment(fields),
        raw=_raw(fields, has_audio),
    )


def _status(fields: Mapping[str, list[str]], *, default: str | None) -> str:
    status = _one(fields, "call_status") or default
    if status not in STATUSES:
        raise WebhookMalformed(f"call_status must be one of {', '.join(STATUSES)}, not {status!r}")
    return status


def _many(fields: Mapping[str, list[str]], name: str) -> list[str]:
    return [value.strip() for value in fields.get(name, []) if value.strip()]


def _one(fields: Mapping[str, list[str]], name: str) -> str | None:
    values = _many(fields, name)
    if len(values) > 1:
        raise WebhookMalformed(f"{name} is given more than once")
    return values[0] if values else None


def _id(fields: Mapping[str, list[str]], name: str) -> str | None:
    value = _one(fields, name)
    if value is not None and len(value) > MAX_ID_LENGTH:
        raise WebhookMalformed(f"{name} is too long")
    return value


def _ids(fields: Mapping[str, list[str]], name: str) -> list[str]:
    values = _many(fields, name)
    if any(len(value) > MAX_ID_LENGTH for value in values):
        raise WebhookMalformed(f"{name}: an id is too long")
    return list(dict.fromkeys(values))


def _number(fields: Mapping[str, list[str]], name: str) -> int | None:
    value = _one(fields, name)
    if value is None:
        return None
    if not _NUMBER.match(value):
        raise WebhookMalformed(f"{name} must be a number, not {value!r}")
    return int(value)


def _numbers(fields: Mapping[str, list[str]], name: str) -> list[int]:
    values = _many(fields, name)
    bad = next((value for value in values if not _NUMBER.match(value)), None)
    if bad is not None:
        raise WebhookMalformed(f"{name} must hold numbers, not {bad!r}")
    return list(dict.fromkeys(int(value) for value in values))


def _comment(fields: Mapping[str, list[str]]) -> str | None:
    comment = _one(fields, "comment")
    if comment is not None and len(comment) > MAX_COMMENT_LENGTH:
        raise WebhookMalformed(f"comment is longer than {MAX_COMMENT_LENGTH} characters")
    return comment


def _raw(fields: Mapping[str, list[str]], has_audio: bool) -> dict[str, Any]:
    raw: dict[str, Any] = {
        name: values[0] if len(values) == 1 and name not in TARGET_LISTS else values
        for name, values in fields.items()
    }
    if has_audio:
        raw[AUDIO_FIELD] = "(file)"
    return raw
