"""Contact details come out of stored and logged text; the words the red-flag detector needs stay."""

from __future__ import annotations

from pathlib import Path

import pytest

from pain_assistant import red_flags
from pain_assistant.redaction import ADDRESS, EMAIL, PHONE, redact, redact_strings
from tests.test_red_flags import load_set

SAFETY = Path(__file__).resolve().parent / "safety"
DETECTOR = red_flags.load()
CONTACT_DETAILS = "email me at jo.bloggs+ms@mail.example.co.uk or call 07700 900123, I live at 12 Oak Tree Road LS1 4AB"


@pytest.mark.parametrize(
    "text, redacted",
    [
        ("email me at jo.bloggs+ms@mail.example.co.uk please", f"email me at {EMAIL} please"),
        ("call me on 07700 900123", f"call me on {PHONE}"),
        ("or +44 (0)20 7946 0958 after six", f"or {PHONE} after six"),
        ("my number is 555-867-5309", f"my number is {PHONE}"),
        ("I live at 12 Oak Tree Road, Leeds LS1 4AB", f"I live at {ADDRESS}, Leeds {ADDRESS}"),
        ("221b baker st london", f"{ADDRESS} london"),
        ("flat 3, 10 high street", f"flat 3, {ADDRESS}"),
    ],
)
def test_emails_phone_numbers_and_addresses_become_placeholders(text, redacted):
    assert redact(text) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "i have had it 3 days by the way",
        "i fell 2 times on the way home",
        "since 2024-11-20 my leg is swollen",
        "it hurts 24/7 and the pain is 8 out of 10",
        "call 911 now", "ring 999 or 111, samaritans 116 123, or 988",
    ],
)
def test_ordinary_numbers_and_emergency_numbers_stay(text):
    assert redact(text) == text


@pytest.mark.parametrize("set_name", sorted(path.name for path in SAFETY.glob("red_flag_*.yml")))
def test_every_red_flag_phrasing_raises_the_same_flags_after_redaction(set_name):
    positives, ordinary = load_set(set_name)
    for message in [message for _, message in positives] + [message for message, _ in ordinary]:
        for text in (message, f"{message}. {CONTACT_DETAILS}"):
            before = {d.flag.id for d in DETECTOR.detect(text)}
            after = {d.flag.id for d in DETECTOR.detect(redact(text))}
            assert after >= before, (text, redact(text))


def test_every_string_in_an_event_is_redacted_and_nothing_else_changes():
    event = {"event": "user", "text": "call me on 07700 900123", "timestamp": 1.5,
             "parse_data": {"text": "call me on 07700 900123", "intent": {"name": "greet", "confidence": 0.9}},
             "list": ["a@b.org", 3]}
    assert redact_strings(event) == {
        "event": "user", "text": f"call me on {PHONE}", "timestamp": 1.5,
        "parse_data": {"text": f"call me on {PHONE}", "intent": {"name": "greet", "confidence": 0.9}},
        "list": [EMAIL, 3],
    }
