"""Whether Telegram answers this process: the one place the log, ``/readyz`` and the
``pbxgram_telegram_up`` gauge learn it from.

Whatever talks to the Bot API calls :meth:`TelegramState.mark_up` after an answer and
:meth:`TelegramState.mark_down` when Telegram could not be reached; the log says so once
per change, never once per try.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prometheus_client import Gauge

log = logging.getLogger(__name__)


class TelegramState:
    """Telegram's reachability as this process last saw it; ``used`` is False in a
    process that never talks to Telegram (a web-only replica in long-polling mode)."""

    def __init__(self, gauge: Gauge, clock: Callable[[], float] = time.monotonic) -> None:
        self._gauge = gauge
        self._clock = clock
        self.used = False
        self.up: bool | None = None  # None: not answered nor failed yet
        self.reason: str | None = None  # the class of the last failure while down
        self._down_since: float | None = None
        gauge.set(0)

    def describe(self) -> str:
        """``up``, ``down``, ``connecting`` (not tried to the end yet) or ``not used``."""
        if not self.used:
            return "not used"
        if self.up is None:
            return "connecting"
        return "up" if self.up else "down"

    def mark_up(self) -> None:
        """Telegram answered (any answer, even an error, means it is reachable)."""
        self._gauge.set(1)
        if self.up is False and self._down_since is not None:
            log.warning(
                "Telegram reachable again after %d s", round(self._clock() - self._down_since)
            )
        self.up, self.reason, self._down_since = True, None, None

    def mark_down(self, reason: BaseException | str) -> None:
        """Telegram could not be reached (network failure, timeout, 5xx)."""
        self._gauge.set(0)
        name = reason if isinstance(reason, str) else type(reason).__name__
        if self.up is not False:
            # The class only: a failure's text may carry the request URL, hence the token.
            log.warning("Telegram unreachable: %s", name)
            self._down_since = self._clock()
        self.up, self.reason = False, name
