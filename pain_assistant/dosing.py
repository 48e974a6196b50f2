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
