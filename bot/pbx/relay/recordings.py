"""Recordings the PBX uploads with a relay request, kept in Redis until they are sent.

Use :meth:`RecordingStore.receive` while the request streams in (chunks go to a
temporary list, so a file is never whole in memory, and a file over
:data:`MAX_RECORDING_BYTES` is refused), then :meth:`RecordingStore.keep` once the request
is accepted, or :meth:`RecordingStore.discard` when it is not. :meth:`RecordingStore.open`
streams a kept recording back out. Kept recordings expire after
:data:`RECORDING_TTL_SECONDS`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import BodyPartReader
from redis.asyncio import Redis

from bot.pbx.base import AudioStream, PbxRejected, WebhookError, WebhookMalformed
from bot.pbx.relay.redis_keys import RelayKeys
from bot.storage import Keys

MAX_RECORDING_BYTES = 20 * 1024 * 1024
CHUNK_BYTES = 256 * 1024
RECORDING_TTL_SECONDS = 2 * 24 * 3600
UPLOAD_TTL_SECONDS = 3600  # a temporary upload whose request never finished
_SNIFF_BYTES = 12


class UploadTooLarge(WebhookError):
    """The uploaded file is over the size limit: 413."""

    status = 413


@dataclass(frozen=True)
class AudioKind:
    extension: str
    content_type: str


MP3 = AudioKind("mp3", "audio/mpeg")
MP4 = AudioKind("m4a", "audio/mp4")
WAV = AudioKind("wav", "audio/wav")
OGG = AudioKind("ogg", "audio/ogg")


def sniff(head: bytes) -> AudioKind | None:
    """The kind of an mp3, mp4, wav or ogg file from its first bytes; None for anything else."""
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return MP3
    if head[4:8] == b"ftyp":
        return MP4
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    if head.startswith(b"OggS"):
        return OGG
    return None


@dataclass(frozen=True)
class Upload:
    """A file received in full but not yet kept."""

    key: str
    size: int
    sha256: str
    kind: AudioKind


class RecordingStore:
    """Uploaded recordings of one relay account, in chunks under Redis keys with a TTL."""

    def __init__(self, redis: Redis, keys: Keys, account: str) -> None:
        self._redis = redis
        self._keys = keys
        self._account = account

    async def receive(self, part: BodyPartReader) -> Upload:
        """Stream one uploaded file into a temporary key; WebhookError if it is refused."""
        key = RelayKeys.of(self._keys, self._account).recording("upload-" + secrets.token_hex(8))
        digest = hashlib.sha256()
        size = 0
        head = b""
        kind: AudioKind | None = None
        try:
            while chunk := await part.read_chunk(CHUNK_BYTES):
                size += len(chunk)
                if size > MAX_RECORDING_BYTES:
                    raise UploadTooLarge(
                        f"audio_record is larger than {MAX_RECORDING_BYTES // 2**20} MB"
                    )
                if kind is None:
                    head += chunk[: _SNIFF_BYTES - len(head)]
                    if len(head) >= _SNIFF_BYTES or len(chunk) < CHUNK_BYTES:
                        kind = sniff(head)
                        if kind is None:
                            raise WebhookMalformed(
                                "audio_record must be an mp3, mp4, wav or ogg file"
                            )
                digest.update(chunk)
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.rpush(key, base64.b64encode(chunk).decode("ascii"))
                    pipe.expire(key, UPLOAD_TTL_SECONDS)
                    await pipe.execute()
        except BaseException:
            await self._redis.delete(key)
            raise
        if kind is None:
            kind = sniff(head)
        if size == 0 or kind is None:
            await self._redis.delete(key)
            raise WebhookMalformed("audio_record must be a non-empty mp3, mp4, wav or ogg file")
        return Upload(key=key, size=size, sha256=digest.hexdigest(), kind=kind)

    async def keep(self, upload: Upload, call_id: str) -> str:
        """Keep an upload as a recording of ``call_id``; its id (the same for the same file)."""
        recording_id = f"{call_id}-{upload.sha256[:16]}"
        key = RelayKeys.of(self._keys, self._account).recording(recording_id)
        meta = {
            "size": upload.size,
            "content_type": upload.kind.content_type,
            "filename": f"call-{call_id}.{upload.kind.extension}",
        }
        if await self._redis.exists(key):  # the same file sent again
            await self.discard(upload)
        else:
            await self._redis.rename(upload.key, key)
        info = RelayKeys.of(self._keys, self._account).recording_info(recording_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(info, json.dumps(meta), ex=RECORDING_TTL_SECONDS)
            pipe.expire(key, RECORDING_TTL_SECONDS)
            await pipe.execute()
        return recording_id

    async def discard(self, upload: Upload) -> None:
        await self._redis.delete(upload.key)

    async def open(self, recording_id: str) -> AudioStream:
        """Stream a kept recording; PbxRejected once it has expired (or never existed)."""
        stored = await self._redis.get(
            RelayKeys.of(self._keys, self._account).recording_info(recording_id)
        )
        key = RelayKeys.of(self._keys, self._account).recording(recording_id)
        count = await self._redis.llen(key)
        if not stored or count == 0:
            raise PbxRejected(
                f"recording {recording_id} is not kept (any more)",
                message_key="relay.recording_gone",
            )
        info = json.loads(stored)
        return AudioStream(
            chunks=self._chunks(key, count),
            aclose=_nothing,
            content_type=str(info["content_type"]),
            size=int(info["size"]),
            filename=str(info["filename"]),
        )

    async def _chunks(self, key: str, count: int) -> AsyncIterator[bytes]:
        for index in range(count):
            found = await self._redis.lrange(key, index, index)
            if not found:
                raise PbxRejected(f"recording {key} expired while being read")
            yield base64.b64decode(found[0])


async def _nothing() -> None:
    """Nothing to release: each chunk is read on its own."""
