"""Notifications of types pbxgram does not know (none of the six section 4.7 lists).

They are answered 200 and dropped: section 3 counts every failed delivery toward the PBX
switching notifications off. Each type is logged once per account and process, and all
are counted by type, in :attr:`IgnoredEvents.counts` and, once :meth:`IgnoredEvents.bind`
gave it the counter, in ``pbxgram_pbx_events_ignored_total{provider,type}``.
"""

from __future__ import annotations

import collections
import logging
import re

from prometheus_client import Counter

log = logging.getLogger(__name__)

MAX_TYPES = 20  # distinct type labels kept; any further type is counted as "other"
MAX_LABEL = 64
OTHER = "other"


class IgnoredEvents:
    """The ignored notifications of one account."""

    def __init__(self, account: str, provider: str) -> None:
        self.account = account
        self.provider = provider
        self.counts: collections.Counter[str] = collections.Counter()
        self._counter: Counter | None = None

    def bind(self, counter: Counter) -> None:
        """Count into ``counter`` (labels: provider, type) from now on."""
        self._counter = counter

    def note(self, event_type: str) -> None:
        """Count one notification of ``event_type``; log the first of each type."""
        label = self.label(event_type)
        if label not in self.counts:
            log.warning(
                "%s %s: ignoring notifications of unknown type %s (answered 200)",
                self.provider.upper(),
                self.account,
                label,
            )
        self.counts[label] += 1
        if self._counter is not None:
            self._counter.labels(self.provider, label).inc()

    def label(self, event_type: str) -> str:
        """The type as a short, safe metric label; "other" past :data:`MAX_TYPES` types."""
        label = re.sub(r"[^A-Za-z0-9_]", "_", event_type.strip())[:MAX_LABEL] or OTHER
        if label in self.counts or len(self.counts) < MAX_TYPES:
            return label
        return OTHER
