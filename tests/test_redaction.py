"""Personal data comes out of stored and logged text, in linear time; the words the assistant and
the red-flag detector need stay."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
import yaml

from pain_assistant import red_flags
from pain_assistant.redaction import (ADDRESS, DATE_OF_BIRTH, EMAIL, ID_NUMBER, NAME, PHONE, redact,
                                      redact_strings)
from stores.log_redaction import RedactingFilter
from pain_assistant.red_flag_examples import EXAMPLES_DIR as SAFETY, load_set

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
        ("email sarah_o'connor@nhs.net", f"email {EMAIL}"),
        ("my name is Sarah O'Connor, born 12/03/1961", f"my name is {NAME}, born {DATE_OF_BIRTH}"),
        ("DOB: 3rd of May 1958, diagnosed 2003", f"DOB: {DATE_OF_BIRTH}, diagnosed 2003"),
        ("my ssn is 123-45-6789", f"my ssn is {ID_NUMBER}"),
        ("NHS number 943 476 5919, 2 days of pain", f"NHS number {ID_NUMBER}, 2 days of pain"),
        ("MRN 12345678", f"MRN {ID_NUMBER}"),
        ("I live in 90210, zip 10001-1234", f"I live in {ADDRESS}, zip {ADDRESS}"),
        ("Dr Patel's nurse said", f"Dr {NAME}'s nurse said"),
        ("Mr and Mrs Smith", f"Mr and Mrs {NAME}"),
        ("my GP Dr Patel upped my baclofen", f"my GP Dr {NAME} upped my baclofen"),
        ("my husband John Smith drives me", f"my husband {NAME} drives me"),
        ("this is sarah speaking", f"this is {NAME} speaking"),
    ],
)
def test_personal_data_becomes_placeholders(text, redacted):
    assert redact(text) == redacted


PERSONAL_DATA = yaml.safe_load((Path(__file__).resolve().parent / "personal_data.yml").read_text())
MARKED_ITEM = re.compile(r"\{\{(.+?)\}\}")


def test_every_personal_data_item_of_the_set_is_gone():
    items = 0
    for kind, messages in PERSONAL_DATA["personal"].items():
        for marked in messages:
            redacted = redact(MARKED_ITEM.sub(r"\1", marked))
            for item in MARKED_ITEM.findall(marked):
                items += 1
                assert item not in redacted, (kind, item, redacted)
    assert items >= 200


def test_every_ordinary_message_of_the_set_is_unchanged():
    assert len(PERSONAL_DATA["ordinary"]) >= 100
    assert [message for message in PERSONAL_DATA["ordinary"] if redact(message) != message] == []


@pytest.mark.parametrize(
    "text",
    [
        "my name is on the waiting list", "my name is not on the list", "call me back", "call me crazy",
        "my sister lives with me", "I miss walking", "Ms pain is worse in the heat", "it's hot here",
        "the doctor called it Lhermitte's", "dr said to rest", "call nhs 111", "nhs 24 said wait",
        "thinking about su1c1de", "I walk 10000 steps", "50000 IU of vitamin D",
        'connection to server at "127.0.0.1", port 25432 failed',
    ],
)
def test_words_that_only_look_like_personal_data_stay(text):
    assert redact(text) == text


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


@pytest.mark.parametrize("set_name", sorted(path.name for path in SAFETY.glob("*.yml")))
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


def test_a_name_or_an_email_inside_metadata_goes_and_the_event_s_own_fields_stay():
    event = {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}, "metadata": {"name": "John Smith"}},
             "metadata": {"sender": {"first_name": "John", "email": "j@x.org", "id": 42}, "Full Name": "John Smith",
                          "note": "my name is Ann", "is_echo": False}}
    assert redact_strings(event) == {
        "event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}, "metadata": {"name": NAME}},
        "metadata": {"sender": {"first_name": NAME, "email": EMAIL, "id": 42}, "Full Name": NAME,
                     "note": f"my name is {NAME}", "is_echo": False},
    }
    slot = {"event": "slot", "name": "check_sudden", "value": "no"}
    assert redact_strings(slot) == slot


# Text shaped to make a backtracking pattern re-scan what it already failed on: a run of what one
# pattern reads, again and again, with nothing that completes a match.
ADVERSARIAL_UNITS = ["a", "1 ", "a@", "a.", "o'", "a''", ".'", "Dr X ", "my name is ", "12 oak ", "nhs number 1", "born 1",
                     "my name is Dr O'Connor born 12/03/1961 nhs number 943 476 5919 zip 90210 x@y.z "]
MEGABYTE = 1_000_000
# Linear redaction takes about 1-3 s a megabyte here; the old quadratic email pattern, hours.
GENEROUS_SECONDS = 30


@pytest.mark.parametrize("unit", ADVERSARIAL_UNITS)
def test_a_megabyte_of_each_adversarial_shape_is_redacted_in_linear_time(unit):
    text = (unit * (MEGABYTE // len(unit) + 1))[:MEGABYTE]
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < GENEROUS_SECONDS


def test_log_lines_are_redacted_the_same_way():
    record = logging.LogRecord("rasa.core.processor", logging.DEBUG, __file__, 1, "Received user message '%s' from sender '%s'",
                               ("my name is Sarah, NHS no 943 476 5919", "jo@x.org"), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == f"Received user message 'my name is {NAME}, NHS no {ID_NUMBER}' from sender '{EMAIL}'"
