"""The Redis keys a relay account keeps (all under ``{prefix}:relay:{account}``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.keys import AccountKeys


@dataclass(frozen=True)
class RelayKeys(AccountKeys):
    """Key names of one relay account."""

    provider = "relay"

    def call(self, call_id: str) -> str:
        """String with TTL: a relay call (its legs, timings and status) as JSON."""
        return self.scope("call", call_id)

    def pbx_call(self, pbx_call_id: str) -> str:
        """String with TTL: our call id for the relay PBX's ``pbx_call_id``."""
        return self.scope("pbx", pbx_call_id)

    def call_ids(self) -> str:
        """String: the last call id issued to the account."""
        return self.scope("ids")

    def recording(self, recording_id: str) -> str:
        """List with TTL: an uploaded recording's chunks (base64), in order."""
        return self.scope("rec", recording_id)

    def recording_info(self, recording_id: str) -> str:
        """String with TTL: size, content_type and filename of an uploaded recording (JSON)."""
        return self.scope("rec", recording_id, "info")
