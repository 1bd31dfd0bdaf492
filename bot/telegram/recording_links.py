"""Time-limited links to recordings, served by pbxgram itself at ``/recordings/…``.

Use for recordings too large for Telegram: the link is signed with a key derived from
the bot token and expires; no PBX credential appears in it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

LINK_LIFETIME = 7 * 24 * 3600


class RecordingLinks:
    """Make and check signed recording URLs under ``PUBLIC_URL``."""

    def __init__(self, public_base: str | None, secret: bytes) -> None:
        self.public_base = public_base.rstrip("/") if public_base else None
        self._secret = secret

    def _sign(self, account: str, recording_id: str, expires: int) -> str:
        message = f"{account}\n{recording_id}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def url(self, account: str, recording_id: str, *, now: float | None = None) -> str | None:
        """The link, or None when PUBLIC_URL is not set."""
        if self.public_base is None:
            return None
        expires = int((now or time.time()) + LINK_LIFETIME)
        signature = self._sign(account, recording_id, expires)
        return f"{self.public_base}/recordings/{account}/{expires}/{signature}/{recording_id}"

    def valid(self, account: str, recording_id: str, expires: int, signature: str) -> bool:
        if expires < time.time():
            return False
        return hmac.compare_digest(self._sign(account, recording_id, expires), signature)
