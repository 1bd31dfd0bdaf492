"""Call recordings (spec 3.4.1, 3.4.2): ids, readiness and one-time file links."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

FRAME = bytes.fromhex("fffb9064") + bytes(413)
"""One silent MPEG-1 Layer III frame (128 kbit/s, 44.1 kHz): about 26 ms of audio."""


def fake_mp3(seconds: int) -> bytes:
    """A small, well-formed MP3 for a call of ``seconds`` (one frame per second)."""
    return b"ID3\x03\x00\x00\x00\x00\x00\x00" + FRAME * max(1, seconds)


@dataclass
class Recording:
    """Audio bytes and how many more download attempts answer "not found yet"."""

    data: bytes
    not_ready_for: int = 0


@dataclass(frozen=True)
class FileLink:
    """What a one-time ``/files/<token>`` URL serves."""

    recording_id: str
    action: str


class Recordings:
    """Stored recordings and the one-time links handed out for them."""

    def __init__(self) -> None:
        self.items: dict[str, Recording] = {}
        self.links: dict[str, FileLink] = {}

    def add(self, recording_id: str, data: bytes, ready_after: int = 0) -> None:
        self.items[recording_id] = Recording(data, ready_after)

    def attempt(self, recording_id: str) -> bool:
        """One download attempt: True when the file can be handed out now."""
        recording = self.items.get(recording_id)
        if recording is None:
            return False
        if recording.not_ready_for > 0:
            recording.not_ready_for -= 1
            return False
        return True

    def grant(self, recording_id: str, action: str) -> str:
        """A new one-time token for the file."""
        token = secrets.token_urlsafe(24)
        self.links[token] = FileLink(recording_id, action)
        return token

    def redeem(self, token: str) -> tuple[FileLink, bytes] | None:
        """The link and bytes for a token, once; None for unknown or used tokens."""
        link = self.links.pop(token, None)
        if link is None or link.recording_id not in self.items:
            return None
        return link, self.items[link.recording_id].data
