"""Counting notifications of unknown types: safe, bounded labels, one log line per type."""

from __future__ import annotations

import logging

import pytest

from bot.metrics import Metrics
from bot.pbx.mts.ignored import MAX_LABEL, MAX_TYPES, OTHER, IgnoredEvents


def test_labels_are_safe_and_bounded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    metrics = Metrics()
    ignored = IgnoredEvents("mts", "mts")
    ignored.note("BEFORE_BIND")  # counted here only
    ignored.bind(metrics.pbx_events_ignored)

    ignored.note("CALL PARKED\n<b>")
    ignored.note("X" * 500)
    for n in range(MAX_TYPES + 5):
        ignored.note(f"TYPE_{n}")

    assert ignored.counts["CALL_PARKED__b_"] == 1
    assert ignored.counts["X" * MAX_LABEL] == 1
    assert len(ignored.counts) == MAX_TYPES + 1  # the rest share "other"
    assert ignored.counts[OTHER] == 8
    lines = [record.getMessage() for record in caplog.records]
    assert all("\n" not in line and "<" not in line for line in lines)
    sample = metrics.registry.get_sample_value(
        "pbxgram_pbx_events_ignored_total", {"provider": "mts", "type": OTHER}
    )
    assert sample == 8.0
    before = {"provider": "mts", "type": "BEFORE_BIND"}
    assert metrics.registry.get_sample_value("pbxgram_pbx_events_ignored_total", before) is None
    assert len(lines) == MAX_TYPES + 1  # once per type, and once for "other"
    ignored.note("TYPE_0")
    assert len(caplog.records) == len(lines)
