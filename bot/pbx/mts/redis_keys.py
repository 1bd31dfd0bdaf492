"""The Redis keys an MTS account keeps (all under ``{prefix}:mts:{account}``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.keys import AccountKeys


@dataclass(frozen=True)
class MtsKeys(AccountKeys):
    """Key names of one MTS account."""

    provider = "mts"

    def abonents(self) -> str:
        """String with TTL: the abonent directory (the API's JSON), cached."""
        return self.scope("abonents")

    def subscriptions(self) -> str:
        """Hash: abonent id -> its event subscription (id, expiry) as JSON."""
        return self.scope("subs")

    def service(self) -> str:
        """String with TTL: the notification service was enabled for this callback URL."""
        return self.scope("service")
