"""Checks every channel applies to a message before Rasa: limits that never hide a red flag."""

from __future__ import annotations

from pain_assistant import incoming


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
