"""Uploading a PBX recording to Telegram as it streams in."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from aiogram import Bot
from aiogram.types import InputFile

from bot.pbx.base import AudioStream


class StreamedFile(InputFile):
    """An InputFile read chunk by chunk from the PBX; never held whole in memory."""

    def __init__(self, stream: AudioStream) -> None:
        super().__init__(filename=stream.filename)
        self.stream = stream

    async def read(self, bot: Bot) -> AsyncGenerator[bytes, None]:
        async for chunk in self.stream.chunks:
            yield chunk
