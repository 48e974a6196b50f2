"""Dose questions are recognised for every medicine, by any of its names; others are not."""

from __future__ import annotations

import pytest

from pain_assistant import knowledge
from pain_assistant.dosing import find_dose, is_dose_request

BASE = knowledge.load()
NAMES = sorted({name for m in BASE.medicines for name in (m.id, *m.brand_names)})
DOSE_TEMPLATES = [
    "how many mg of {} should i take",
    "what's the max dose of {}",
    "can i just stop my {}",
    "how do i wean off {}",
    "can i double my {} tonight",
    "i missed a dose of {}, what now",
    "how often should i take {}",
    "should i increase my {}",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("template", DOSE_TEMPLATES)
def test_dose_questions_about_every_medicine_are_recognised(template, name):
    assert is_dose_request(template.format(name.lower()), names_a_medicine=True)


@pytest.mark.parametrize(
    "message",
    ["what is gabapentin for", "does lyrica help nerve pain", "how many people with ms have pain",
     "when did the pain start", "is baclofen drowsy", "how much does ms hurt", "my legs burn at night"],
)
def test_other_questions_are_not_dose_questions(message):
    names_a_medicine = any(name.lower() in message for name in NAMES)
    assert not is_dose_request(message, names_a_medicine)


@pytest.mark.parametrize(
    "text, dose",
    [("take 300 mg", "300 mg"), ("2 tablets", "2 tablets"), ("3 times a day", "3 times a day"),
     ("every 8 hours", "every 8 hours"), ("10-20 mg", "10-20 mg"), ("up to two-thirds of people", None),
     ("symptoms lasting over 24 hours", None), ("a pain score from 0 to 10", None)],
)
def test_find_dose(text, dose):
    assert find_dose(text) == dose
