"""Telegram's flood control: per bot, per chat (burst then 1/s) and per group (per minute)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.telegram.models import too_many_requests


@dataclass(frozen=True)
class Limits:
    """Flood limits the emulator enforces; pass tighter or looser ones to tests and benchmarks.

    Defaults follow Telegram's documented numbers: about 30 messages a second per bot,
    one a second per chat after a short burst, 20 a minute per group. Edits count toward
    a separate, more lenient per-chat bucket.
    """

    enabled: bool = True
    per_bot_per_second: int = 30
    per_chat_burst: int = 3
    per_chat_per_second: float = 1.0
    per_group_per_minute: int = 20
    edit_burst: int = 5
    edit_per_second: float = 1.0

    @classmethod
    def disabled(cls) -> Limits:
        """No flood control at all, for tests about something else."""
        return cls(enabled=False)


@dataclass
class _Bucket:
    tokens: float
    updated: float


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


class RateLimiter:
    """Decides whether a send or an edit may go through now; raises a 429 ApiError if not."""

    def __init__(self, limits: Limits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._bot: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._chats: dict[int, _Bucket] = {}
        self._edits: dict[int, _Bucket] = {}

    def _bucket_wait(
        self, buckets: dict[int, _Bucket], chat_id: int, burst: int, rate: float, now: float
    ) -> tuple[_Bucket, float]:
        bucket = buckets.setdefault(chat_id, _Bucket(float(burst), now))
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            return bucket, 0.0
        return bucket, (1.0 - bucket.tokens) / rate if rate > 0 else math.inf

    @staticmethod
    def _window_wait(window: deque[float], size: float, limit: int, now: float) -> float:
        while window and window[0] <= now - size:
            window.popleft()
        if len(window) < limit:
            return 0.0
        return window[0] + size - now

    def check_send(self, chat_id: int, *, group: bool) -> None:
        """Account one outgoing message to ``chat_id``, or raise 429 with retry_after."""
        if not self.limits.enabled:
            return
        now = self._clock()
        limits = self.limits
        bucket, wait = self._bucket_wait(
            self._chats, chat_id, limits.per_chat_burst, limits.per_chat_per_second, now
        )
        wait = max(wait, self._window_wait(self._bot, 1.0, limits.per_bot_per_second, now))
        window = self._groups.setdefault(chat_id, deque()) if group else None
        if window is not None:
            wait = max(wait, self._window_wait(window, 60.0, limits.per_group_per_minute, now))
        if wait > 0:
            raise too_many_requests(_retry_after(wait))
        bucket.tokens -= 1.0
        self._bot.append(now)
        if window is not None:
            window.append(now)

    def check_edit(self, chat_id: int) -> None:
        """Account one edit in ``chat_id``, or raise 429 with retry_after."""
        if not self.limits.enabled:
            return
        bucket, wait = self._bucket_wait(
            self._edits, chat_id, self.limits.edit_burst, self.limits.edit_per_second, self._clock()
        )
        if wait > 0:
            raise too_many_requests(_retry_after(wait))
        bucket.tokens -= 1.0
