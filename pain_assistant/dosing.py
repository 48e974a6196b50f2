"""Recognise dosing language, so no text the assistant can send carries a dose or a schedule."""

from __future__ import annotations

import re

_NUMBER = r"\d+(?:[.,]\d+)?"
_UNIT = (
    r"(?:mg|mcg|µg|micrograms?|milligrams?|grams?|g|ml|millilit(?:er|re)s?|units?|iu|"
    r"tablets?|tabs?|pills?|capsules?|caps?|doses?|drops?|puffs?|patch(?:es)?|"
    r"times?\s+(?:a|per|each)\s+(?:day|week)|x\s*(?:a\s+)?day)"
)
DOSE_PATTERN = re.compile(
    rf"\b{_NUMBER}(?:\s*(?:-|to)\s*{_NUMBER})?\s*{_UNIT}\b"
    rf"|\bevery\s+{_NUMBER}\s*(?:hours?|hrs?)\b",
    re.IGNORECASE,
)


def find_dose(text: str) -> str | None:
    """The first dose-like phrase in `text` ("300 mg", "3 times a day"), or None."""
    match = DOSE_PATTERN.search(text)
    return match.group(0) if match else None


# Questions about amounts, timing, or starting, stopping or changing a medicine. The assistant
# answers none of these itself: they go to the prescriber or pharmacist.
_DOSE_QUESTION = re.compile(
    r"\bdos(?:e|es|age|ages|ing)\b"
    r"|\bhow\s+(?:much|many)\b(?:\s+\w+){0,3}?\s+(?:mg|milligrams?|tablets?|pills?|capsules?|should|can|do|to)\b"
    r"|\b(?:double|doubling|skip|skipping|skipped|miss|missed|missing|forgot|forget)\b(?:\s+\w+){0,3}?\s+"
    r"(?:dose|doses|pill|pills|tablet|tablets|meds|medication|one)\b"
    r"|\bhow\s+(?:often|long)\b(?:\s+\w+){0,4}?\s+tak(?:e|ing)\b"
    r"|\bwhen\s+(?:should|do|can|to)\s+i\s+take\b"
    r"|\b(?:take|taking)\s+(?:more|less|extra|another|an\s+extra|two|double)\b"
    rf"|\b{_NUMBER}\s*(?:mg|mcg|milligrams?|ml)\b",
    re.IGNORECASE,
)
# Needs a medicine in the same message to count: "the amount of pain" is not a dose question.
_CHANGE_OR_AMOUNT = re.compile(
    r"\b(?:strength|strengths|amount|amounts)\s+of\b|"
    r"\b(?:stop|stopping|quit|quitting|wean|weaning|taper|tapering|come\s+off|coming\s+off|get\s+off|"
    r"getting\s+off|go\s+off|cut\s+down|cut\s+back|reduce|reducing|lower|lowering|increase|increasing|"
    r"up|upping|raise|halve|split|crush|change|changing|switch|swap|start|starting|double|doubling|skip|skipping)\b",
    re.IGNORECASE,
)
_MEDICINE_WORD = re.compile(r"\b(?:meds|medication|medications|medicine|medicines|tablets|pills|painkillers|drugs)\b", re.I)


def is_dose_request(text: str, names_a_medicine: bool = False) -> bool:
    """Asks how much, how often, or whether to start, stop or change a medicine.

    `names_a_medicine`: the message names one (the NLU found a medicine entity); with it, a
    change verb alone ("can I just stop my gabapentin") is enough.
    """
    if _DOSE_QUESTION.search(text):
        return True
    return bool(_CHANGE_OR_AMOUNT.search(text)) and (names_a_medicine or bool(_MEDICINE_WORD.search(text)))
