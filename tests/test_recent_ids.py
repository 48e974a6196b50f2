"""The bounded memory of ids that lets a channel answer a resent webhook once."""

from __future__ import annotations

from channels.recent_ids import RecentIds


def test_an_id_is_new_once():
    recent = RecentIds()
    assert recent.first_time("d1")
    assert not recent.first_time("d1")
    assert recent.first_time("d2")


def test_a_repeat_of_any_of_the_ids_is_a_repeat_and_all_are_remembered():
    recent = RecentIds()
    assert recent.first_time("delivery 1", "message 7")
    assert not recent.first_time("delivery 2", "message 7")  # the same message in a new delivery
    assert not recent.first_time("delivery 2", "message 8")  # delivery 2 was remembered above
    assert not recent.first_time("message 8")


def test_a_missing_id_is_never_a_repeat():
    recent = RecentIds()
    assert recent.first_time(None) and recent.first_time(None)
    assert recent.first_time(None, "m1") and not recent.first_time(None, "m1")


def test_past_its_size_the_least_recently_seen_id_is_forgotten():
    recent = RecentIds(size=2)
    assert recent.first_time("a") and recent.first_time("b")
    assert not recent.first_time("a")  # seen again: now the most recent
    assert recent.first_time("c")  # forgets b
    assert recent.first_time("b") and not recent.first_time("c")
