"""Checks every channel applies to a message before Rasa: limits that never hide a red flag."""

from __future__ import annotations

import json

import pytest

from pain_assistant import incoming, red_flags


def test_an_empty_message_gets_a_prompt():
    assert incoming.to_process("   ") == incoming.Instead(incoming.EMPTY_PROMPT)


def test_a_long_message_gets_the_limit():
    assert incoming.to_process("my legs ache " * 500) == incoming.Instead(incoming.TOO_LONG_REPLY)


@pytest.mark.parametrize("where", ["start", "end"])
def test_a_long_message_with_a_red_flag_near_its_start_or_end_is_processed_cut_to_its_window(where):
    red_flag = "and now her face is drooping. "
    text = red_flag + "my legs ache " * 50_000 if where == "start" else "my legs ache " * 50_000 + red_flag
    processed = incoming.to_process(text)
    assert isinstance(processed, str) and "face is drooping" in processed
    assert len(processed) <= 2 * incoming.RED_FLAG_WINDOW + len(incoming.WINDOW_JOIN) < incoming.MAX_CHARACTERS


def test_a_red_flag_in_the_middle_of_a_very_long_message_is_not_read():
    """The price of a bounded check: the middle of a message over the limit is not read, and the
    reply says to keep messages short and to call for help if it is needed now."""
    text = "my legs ache " * 1000 + "her face is drooping " + "my legs ache " * 1000
    assert incoming.to_process(text) == incoming.Instead(incoming.TOO_LONG_REPLY)
    assert "emergency" in incoming.TOO_LONG_REPLY


def test_an_ordinary_message_is_processed():
    assert incoming.to_process("why do my legs hurt") == "why do my legs hurt"


def test_typed_text_cannot_pose_as_a_button_payload():
    assert incoming.typed_text('/greet my chest hurts') == "greet my chest hurts"
    assert incoming.typed_text("  why do my legs hurt ") == "why do my legs hurt"


def test_a_payload_stays_a_payload_unless_it_hides_a_red_flag():
    assert incoming.unless_it_hides_a_red_flag('/ask_topic{"topic": "ms_hug"}') == '/ask_topic{"topic": "ms_hug"}'
    assert incoming.unless_it_hides_a_red_flag("/greet her face is drooping") == "greet her face is drooping"


@pytest.fixture
def unreadable_red_flag_file(tmp_path, monkeypatch):
    broken = tmp_path / "red_flags.yml"
    broken.write_text(red_flags.DEFAULT_RED_FLAGS_FILE.read_text().replace("context:", "contxt:"))
    real_load = red_flags.load
    monkeypatch.setattr(incoming.red_flags, "load", lambda: real_load(broken))
    incoming._file_detector.cache_clear()
    yield
    incoming._file_detector.cache_clear()


def test_with_the_red_flag_file_unreadable_every_message_goes_on_to_the_model(unreadable_red_flag_file):
    assert incoming.to_process("my legs ache " * 500) == incoming.red_flag_window("my legs ache " * 500)
    assert incoming.unless_it_hides_a_red_flag("/greet") == "greet"
    assert incoming.to_process("   ") == incoming.Instead(incoming.EMPTY_PROMPT)


@pytest.mark.parametrize(
    "value, complaint",
    [
        ("a\ud800", '"sender" is not valid UTF-8'),
        ({"blob": ["ok", {"deep": "x\udfff"}]}, '"sender.blob[1].deep" is not valid UTF-8'),
        ({"k\ud800": "v"}, 'A key in "sender"'),
        (json.loads("[" * 12 + "]" * 12), "nested more than 8 levels"),
    ],
)
def test_fields_that_cannot_be_stored_are_named(value, complaint):
    assert complaint in incoming.problem_in(value, "sender")


def test_ordinary_fields_pass():
    assert incoming.problem_in({"lang": "en", "tags": ["a", 1, None, {"b": "ünïcödé ✓ 🙂"}]}, "metadata") is None
    assert incoming.problem_with_sender("patient-42") is None
    assert incoming.problem_with_metadata(None) is None
    assert incoming.problem_with_metadata({"page": "/help"}) is None


@pytest.mark.parametrize("sender", ["x" * 129, "a\ud800", "a\x00b", "line\nbreak"])
def test_a_sender_id_that_cannot_name_a_conversation_is_refused(sender):
    assert incoming.problem_with_sender(sender) is not None


def test_metadata_over_the_size_limit_is_refused():
    assert "4096 bytes" in incoming.problem_with_metadata({"blob": "b" * 5000})
    assert "JSON object" in incoming.problem_with_metadata(["not", "an", "object"])


def test_the_model_detector_is_used_once_a_model_hands_it_over(monkeypatch):
    model_detector = red_flags.load()
    monkeypatch.setattr(incoming, "_model_detector", None)
    assert incoming.detector() is not model_detector
    incoming.use_model_detector(model_detector)
    assert incoming.detector() is model_detector
