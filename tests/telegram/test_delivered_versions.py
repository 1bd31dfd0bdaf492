"""Which outbox entries the sender may finish without asking Redis."""

from __future__ import annotations

from bot.telegram.sender import DeliveredVersions


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
