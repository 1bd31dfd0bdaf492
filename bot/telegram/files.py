"""Uploading a PBX recording to Telegram as it streams in."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import PurePath

from aiogram import Bot
from aiogram.types import InputFile

from bot.pbx.base import AudioStream


class StreamedFile(InputFile):
    """An InputFile read chunk by chunk from the PBX; never held whole in memory."""

    def __init__(self, stream: AudioStream, title: str = "") -> None:
        super().__init__(filename=_filename(stream.filename, title))
        self.stream = stream

    async def read(self, bot: Bot) -> AsyncGenerator[bytes, None]:
        async for chunk in self.stream.chunks:
            yield chunk


def _filename(pbx_name: str, title: str) -> str:
    """A name people can read (the client's number) with the PBX file's extension."""
    if not title:
        return pbx_name
    extension = PurePath(pbx_name).suffix or ".mp3"
    safe = "".join(ch for ch in title if ch.isalnum() or ch in " +-()")
    return f"{safe.strip() or 'recording'}{extension}"
