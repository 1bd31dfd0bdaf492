"""Pauses between tries to reach Telegram: doubling, capped, jittered."""

from __future__ import annotations

from bot.runtime.telegram_link import Backoff


def test_pauses_double_up_to_the_cap_with_jitter() -> None:
    backoff = Backoff(first=1.0, cap=60.0)
    for failures, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (7, 60.0), (500, 60.0)):
        pauses = {backoff.pause(failures) for _ in range(50)}
        assert all(ceiling / 2 <= p <= ceiling for p in pauses), (failures, pauses)
        assert len(pauses) > 1  # replicas do not retry in step
