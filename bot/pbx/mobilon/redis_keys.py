"""The Redis keys a Mobilon account keeps (all under ``{prefix}:mobilon:{account}``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.keys import AccountKeys


@dataclass(frozen=True)
class MobilonKeys(AccountKeys):
    """Key names of one Mobilon account."""

    provider = "mobilon"

    def keys(self) -> str:
        """Hash: extension -> that employee's Mobilon API key (a secret)."""
        return self.scope("keys")

    def key_index(self) -> str:
        """Hash: digest of a Mobilon key -> extension, to recognise webhooks."""
        return self.scope("keyindex")

    def ringing(self, number: str) -> str:
        """String with TTL: the call id a caller's number is ringing employees in now."""
        return self.scope("ringing", number)

    def call(self, call_id: str) -> str:
        """String with TTL: a Mobilon call being followed, as JSON."""
        return self.scope("call", call_id)

    def followed(self) -> str:
        """Sorted set: call ids being followed (score: when to poll them next)."""
        return self.scope("followed")

    def claimed(self, callid: str) -> str:
        """String with TTL: our call id a Mobilon ``callid`` was matched to."""
        return self.scope("claimed", callid)
