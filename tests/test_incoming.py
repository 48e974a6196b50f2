"""Checks every channel applies to a message before Rasa: limits that never hide a red flag."""

from __future__ import annotations

import pytest

from pain_assistant import incoming, red_flags


def test_an_empty_message_gets_a_prompt():
    assert incoming.reply_instead("   ") == incoming.EMPTY_PROMPT


def test_a_long_message_gets_the_limit():
    assert incoming.reply_instead("my legs ache " * 500) == incoming.TOO_LONG_REPLY


def test_a_long_message_with_a_red_flag_is_still_processed():
    text = "my legs ache " * 300 + "and now her face is drooping " + "and more " * 200
    assert len(text) > incoming.MAX_CHARACTERS
    assert incoming.reply_instead(text) is None


def test_an_ordinary_message_is_processed():
    assert incoming.reply_instead("why do my legs hurt") is None


def test_typed_text_cannot_pose_as_a_button_payload():
    assert incoming.typed_text('/greet my chest hurts') == "greet my chest hurts"
    assert incoming.typed_text("  why do my legs hurt ") == "why do my legs hurt"


def test_a_payload_stays_a_payload_unless_it_hides_a_red_flag():
    assert incoming.unless_it_hides_a_red_flag('/ask_topic{"topic": "ms_hug"}') == '/ask_topic{"topic": "ms_hug"}'
    assert incoming.unless_it_hides_a_red_flag("/greet her face is drooping") == "greet her face is drooping"


@pytest.fixture
def unreadable_red_flag_file(tmp_path, monkeypatch):
    broken = tmp_path / "red_flags.yml"
    broken.write_text(red_flags.DEFAULT_RED_FLAGS_FILE.read_text().replace("negation:", "negaton:"))
    real_load = red_flags.load
    monkeypatch.setattr(incoming.red_flags, "load", lambda: real_load(broken))
    incoming.detector.cache_clear()
    yield
    incoming.detector.cache_clear()


def test_with_the_red_flag_file_unreadable_every_message_goes_on_to_the_model(unreadable_red_flag_file):
    assert incoming.reply_instead("my legs ache " * 500) is None
    assert incoming.unless_it_hides_a_red_flag("/greet") == "greet"
    assert incoming.reply_instead("   ") == incoming.EMPTY_PROMPT
