"""A PBX script speaking the relay format: posts ``create_call`` / ``update_call`` to the bot.

Use :class:`RelayPbx` in tests and demos the way an Asterisk AGI script or a FreePBX hook
would post: as a urlencoded form, or as ``multipart/form-data`` (``curl --form``), with
an optional ``audio_record`` upload. :meth:`RelayPbx.play_inbound` and
:meth:`RelayPbx.play_outbound` play a whole call; :meth:`RelayPbx.post_curl` sends a
``curl`` command as written; :func:`silent_wav` makes a small valid recording to upload.
"""

from __future__ import annotations

import io
import secrets
import wave
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from sandbox.relay.curl import parse_curl

FieldValue = str | int | Sequence[str | int]


@dataclass(frozen=True)
class Audio:
    """A file to send as ``audio_record``."""

    filename: str
    data: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class RelayAnswer:
    """What the bot answered one request with."""

    status: int
    json: Any

    @property
    def data(self) -> dict[str, Any]:
        """The ``data`` object of an accepted request."""
        assert self.status == 200, (self.status, self.json)
        data: dict[str, Any] = self.json["data"]
        return data

    @property
    def error(self) -> str:
        return str(self.json.get("error", "")) if isinstance(self.json, dict) else ""


def silent_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A valid mono 16-bit WAV file of silence, as Asterisk's MixMonitor writes them."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


def encode_multipart(
    fields: Iterable[tuple[str, str]], audio: Audio | None = None
) -> tuple[bytes, str]:
    """The body and Content-Type of a ``multipart/form-data`` request, as ``curl --form``."""
    boundary = "------------------------" + secrets.token_hex(8)
    body = bytearray()
    for name, value in fields:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        body += value.encode() + b"\r\n"
    if audio is not None:
        body += (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="audio_record"; filename="{audio.filename}"\r\n'
            f"Content-Type: {audio.content_type}\r\n\r\n"
        ).encode()
        body += audio.data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return bytes(body), f"multipart/form-data; boundary={boundary}"


def form_pairs(fields: Mapping[str, FieldValue | None]) -> list[tuple[str, str]]:
    """Fields as (name, value) pairs; a sequence becomes repeated ``name[]`` fields."""
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, str | int):
            pairs.append((name, str(value)))
        else:
            pairs.extend((f"{name}[]", str(item)) for item in value)
    return pairs


class RelayPbx:
    """Posts the relay format to one account's URL (``{web_url}/pbx/{account}/calls/{secret}``).

    ``multipart`` picks the default encoding; a request with ``audio`` is always multipart.
    """

    def __init__(self, url: str, *, multipart: bool = True) -> None:
        self.url = url
        self.multipart = multipart
        self._http = httpx.AsyncClient(timeout=10.0)

    async def __aenter__(self) -> RelayPbx:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def post(
        self,
        fields: Mapping[str, FieldValue | None],
        *,
        audio: Audio | None = None,
        multipart: bool | None = None,
    ) -> RelayAnswer:
        """POST the fields (and file) once; the bot's answer."""
        return await self.post_pairs(form_pairs(fields), audio=audio, multipart=multipart)

    async def post_pairs(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        audio: Audio | None = None,
        multipart: bool | None = None,
    ) -> RelayAnswer:
        """POST (name, value) pairs as written, names and order kept (``pbx_user_ids[]``)."""
        if audio is not None or (self.multipart if multipart is None else multipart):
            body, content_type = encode_multipart(pairs, audio)
            response = await self._http.post(
                self.url, content=body, headers={"Content-Type": content_type}
            )
        else:
            response = await self._http.post(self.url, data=dict(_grouped(list(pairs))))
        try:
            payload = response.json()
        except ValueError:
            payload = response.text
        return RelayAnswer(response.status_code, payload)

    async def post_curl(
        self, command: str, files: Mapping[str, bytes] | None = None
    ) -> RelayAnswer:
        """Send a ``curl --form`` command as curl would; ``files`` holds the uploads' bytes
        by the path the command names. The command must post to this PBX's URL."""
        request = parse_curl(command)
        if request.url != self.url or request.method != "POST":
            raise ValueError(f"the command does not POST to {self.url}: {command!r}")
        audio = None
        if request.file is not None:
            if request.file.name != "audio_record":
                raise ValueError(f"the command uploads {request.file.name}, not audio_record")
            data = (files or {})[request.file.path]
            filename = request.file.path.rsplit("/", 1)[-1]
            audio = Audio(filename, data, request.file.content_type)
        return await self.post_pairs(request.fields, audio=audio, multipart=True)

    async def create_call(
        self,
        phone: str,
        *,
        direction: str = "incoming",
        call_status: str | None = None,
        pbx_call_id: str | None = None,
        pbx_user_ids: Sequence[str] = (),
        user_ids: Sequence[int] = (),
        group_ids: Sequence[int] = (),
        comment: str | None = None,
        audio: Audio | None = None,
        extra: Mapping[str, FieldValue] | None = None,
    ) -> RelayAnswer:
        """``extra``: fields a script sends beyond the action's table (the bot ignores them)."""
        return await self.post(
            {
                "action": "create_call",
                "direction": direction,
                "phone": phone,
                "call_status": call_status,
                "pbx_call_id": pbx_call_id,
                "pbx_user_ids": pbx_user_ids or None,
                "user_ids": user_ids or None,
                "group_ids": group_ids or None,
                "comment": comment,
                **(extra or {}),
            },
            audio=audio,
        )

    async def update_call(
        self,
        call_status: str,
        *,
        call_id: int | None = None,
        pbx_call_id: str | None = None,
        user_id: int | None = None,
        pbx_user_id: str | None = None,
        comment: str | None = None,
        audio: Audio | None = None,
        extra: Mapping[str, FieldValue] | None = None,
    ) -> RelayAnswer:
        """``extra``: fields a script sends beyond the action's table (the bot ignores them)."""
        return await self.post(
            {
                "action": "update_call",
                "call_id": call_id,
                "pbx_call_id": pbx_call_id,
                "call_status": call_status,
                "user_id": user_id,
                "pbx_user_id": pbx_user_id,
                "comment": comment,
                **(extra or {}),
            },
            audio=audio,
        )

    async def play_inbound(
        self,
        phone: str,
        *,
        ring: Sequence[str] = (),
        groups: Sequence[int] = (),
        answered_by: str | None = None,
        final: str | None = None,
        recording: Audio | None = None,
        pbx_call_id: str | None = None,
        comment: str | None = None,
    ) -> int:
        """An incoming call: rings the extensions ``ring`` or the groups ``groups`` (everyone
        linked when both are empty), is answered by ``answered_by`` or not, then ends with
        ``final`` (``answered`` or ``missed`` by default) carrying ``recording``; ``comment``
        goes with the create. Returns the bot's ``call_id``; every answer is 200.
        """
        pbx_call_id = pbx_call_id or _new_pbx_call_id()
        created = await self.create_call(
            phone,
            pbx_call_id=pbx_call_id,
            pbx_user_ids=ring,
            group_ids=groups,
            call_status="ringing",
            comment=comment,
        )
        call_id = int(created.data["call_id"])
        if answered_by is not None:
            talking = await self.update_call(
                "in-progress", pbx_call_id=pbx_call_id, pbx_user_id=answered_by
            )
            assert talking.status == 200, talking
        status = final or ("answered" if answered_by else "missed")
        ended = await self.update_call(status, call_id=call_id, audio=recording)
        assert ended.status == 200, ended
        return call_id

    async def play_outbound(
        self,
        phone: str,
        *,
        caller: str | None = None,
        answered: bool = True,
        comment: str | None = None,
    ) -> int:
        """An outgoing call to ``phone`` from the extension ``caller`` (no target when None:
        the script does not know who dials), talked or not (``busy``), ``comment`` with the
        create. Returns the bot's ``call_id``; every answer is 200."""
        pbx_call_id = _new_pbx_call_id()
        created = await self.create_call(
            phone,
            direction="outgoing",
            pbx_call_id=pbx_call_id,
            pbx_user_ids=[caller] if caller else (),
            comment=comment,
        )
        call_id = int(created.data["call_id"])
        if answered:
            talking = await self.update_call(
                "in-progress", pbx_call_id=pbx_call_id, pbx_user_id=caller
            )
            assert talking.status == 200, talking
        ended = await self.update_call("answered" if answered else "busy", call_id=call_id)
        assert ended.status == 200, ended
        return call_id


def _new_pbx_call_id() -> str:
    """An id like Asterisk's ``${UNIQUEID}``."""
    return f"{secrets.randbelow(10**9)}.{secrets.randbelow(100)}"


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped
