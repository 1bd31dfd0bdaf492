"""Request limits of spec section 1.4.1 ("Лимиты количества запросов к API", API ВАТС).

Every request counts toward the global 10 per second; some endpoint families have their
own limit on top. A request over either limit is answered HTTP 503 with the spec's body
and does not use up a slot.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rate:
    """At most ``count`` requests in any ``period`` seconds (the spec's "1/2" is 1 per 2 s)."""

    count: int
    period: float = 1.0


RECORDINGS = "queries/recording"
"""The family of every recording request ("Доступ к записям разговоров")."""
CONTACTS = "ab/contact"
"""The family of address-book reads ("На чтение контактов из адресной книги")."""


def spec_endpoint_rates() -> dict[str, Rate]:
    """Per-family limits from the table in 1.4.1, keyed by path (or family name)."""
    return {
        "commands/callback": Rate(4),
        "commands/callback_group": Rate(4),
        "commands/call/hangup": Rate(4),
        "commands/recording/start": Rate(4),
        RECORDINGS: Rate(10),
        "config/users/request": Rate(1, 2.0),
        "account/balance": Rate(2),
        "commands/transfer": Rate(1, 2.0),
        "stats/request": Rate(10),
        "stats/result": Rate(50),
        "commands/route": Rate(1, 2.0),
        CONTACTS: Rate(50),
    }


@dataclass(frozen=True)
class MangoLimits:
    """Which limits the simulator enforces; the defaults are the spec's.

    Use ``MangoLimits.disabled()`` in tests about something else, or pass tighter
    rates to exercise a client's back-off.
    """

    total: Rate | None = Rate(10)
    endpoints: Mapping[str, Rate] = field(default_factory=spec_endpoint_rates)

    @classmethod
    def disabled(cls) -> MangoLimits:
        """No limits at all."""
        return cls(total=None, endpoints={})

    @property
    def enabled(self) -> bool:
        return self.total is not None or bool(self.endpoints)


def family(path: str) -> str:
    """The limit family of an API path: recordings share one, others are per path."""
    if path.startswith(RECORDINGS + "/"):
        return RECORDINGS
    if path == CONTACTS or path.startswith(CONTACTS + "/"):
        return CONTACTS
    return path


class RateLimiter:
    """Sliding-window counters for the global limit and each endpoint family."""

    def __init__(self, limits: MangoLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}

    def allow(self, path: str) -> bool:
        """True (and the request counted) when neither limit is exceeded."""
        now = self._clock()
        checks: list[tuple[str, Rate]] = []
        if self.limits.total is not None:
            checks.append(("*", self.limits.total))
        name = family(path)
        rate = self.limits.endpoints.get(name)
        if rate is not None:
            checks.append((name, rate))
        for key, limit in checks:
            seen = self._seen.setdefault(key, deque())
            while seen and now - seen[0] >= limit.period:
                seen.popleft()
            if len(seen) >= limit.count:
                return False
        for key, _ in checks:
            self._seen[key].append(now)
        return True

    def reset(self) -> None:
        """Forget every counted request."""
        self._seen.clear()
