"""Which outbox entries the sender may finish without asking Redis."""

from __future__ import annotations

from bot.pipeline.consumer import Handling
from bot.telegram.sender import DeliveredVersions, WaitingEntries


def test_an_entry_is_covered_by_its_version_or_a_newer_one_of_the_same_slot() -> None:
    delivered = DeliveredVersions()
    delivered.note("card:1", "100.5", "3")

    assert delivered.covers("card:1", "100.5", "2")
    assert delivered.covers("card:1", "100.5", "3")
    assert not delivered.covers("card:1", "100.5", "4")  # queued after: still to deliver
    assert not delivered.covers("card:2", "100.5", "1")
    assert not delivered.covers("card:1", None, "1")  # an entry that names no version


def test_a_slot_made_again_under_the_same_name_is_not_covered() -> None:
    delivered = DeliveredVersions()
    delivered.note("card:1", "100.5", 7)

    assert not delivered.covers("card:1", "200.0", "1")
    delivered.note("card:1", "100.5", 5)  # an older answer read late: the newest stays
    assert delivered.covers("card:1", "100.5", "7")


def test_only_the_latest_slots_are_kept() -> None:
    delivered = DeliveredVersions(size=2)
    for slot in ("a", "b", "c"):
        delivered.note(slot, "1", 1)

    assert not delivered.covers("a", "1", "1")
    assert delivered.covers("b", "1", "1") and delivered.covers("c", "1", "1")


def test_entries_waiting_for_a_slot_are_covered_by_its_version_or_a_newer_one() -> None:
    waiting = WaitingEntries()
    older, same, newer = (Handling("outbox:0", "senders", (f"1-{i}",)) for i in range(3))
    elsewhere = Handling("outbox:1", "senders", ("1-9",))
    waiting.add("card:1", older, "100.5", 2)
    waiting.add("card:1", same, "100.5", 3)
    waiting.add("card:1", newer, "100.5", 4)
    waiting.add("card:1", elsewhere, "100.5", 1)

    assert waiting.covered("card:1", "100.5", 3, "outbox:0") == [older, same]
    assert waiting.covered("card:1", "200.0", 3, "outbox:0") == []  # the slot made anew
    assert waiting.covered("card:2", "100.5", 3, "outbox:0") == []
    assert waiting.covered("card:1", None, 3, "outbox:0") == []


def test_an_entry_no_longer_waits_once_removed_or_acknowledged() -> None:
    waiting = WaitingEntries()
    first, second = (Handling("outbox:0", "senders", (f"1-{i}",)) for i in range(2))
    waiting.add("card:1", first, "1", 1)
    waiting.add("card:1", second, "1", 2)

    waiting.remove("card:1", first)
    second.acknowledged()
    assert waiting.covered("card:1", "1", 5, "outbox:0") == []
    waiting.remove("card:1", second)
    waiting.remove("card:1", second)  # again: nothing left to remove
