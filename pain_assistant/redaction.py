"""Taking contact details out of what people type before it is stored or logged.

People in pain write "call me on 07700 900123" or their home address. The conversation store and
the logs keep placeholders instead: [email], [phone], [address]. Only those patterns are
replaced, never ordinary words, so the red-flag detector reads a redacted message the same way
(tests/test_redaction.py checks that on every red-flag phrasing). Short numbers such as 911,
999, 112 or "116 123" are too short to be taken for a phone number and stay.
"""

from __future__ import annotations

import re
from typing import Any

EMAIL = "[email]"
PHONE = "[phone]"
ADDRESS = "[address]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# A run of digits with the usual separators; counted as a phone number from 7 digits on.
_DIGIT_RUN = re.compile(r"(?<![\w])\+?\(?\d[\d\s().\-/]{5,}\d(?![\w])")
_MIN_PHONE_DIGITS = 7
_DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
_STREET_WORDS = (
    "street|st|road|rd|avenue|ave|lane|ln|drive|dr|close|way|court|ct|boulevard|blvd|place|pl|"
    "terrace|crescent|cres|gardens|grove|square|sq|parkway|highway|hwy|strasse|straße|rue"
)
# Words that make "2 days by the way" or "3 times in a row" plain speech, not an address.
_NOT_A_STREET_NAME = (
    "the|a|an|my|your|his|her|our|their|any|this|that|no|to|in|on|of|by|all|every|each|one|"
    "seconds?|minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?|times?|mg|ml|am|pm"
)
# "12 Oak Tree Road", "221b baker st", "Flat 3, 10 High Street".
_STREET = re.compile(
    rf"\b\d{{1,5}}[a-z]?,?\s+(?:(?!(?:{_NOT_A_STREET_NAME})\b)[a-z'’-]+\s+){{1,3}}(?:{_STREET_WORDS})\b\.?",
    re.IGNORECASE | re.UNICODE,
)
# UK postcodes ("SW1A 1AA", "m1 2ab").
_POSTCODE = re.compile(r"\b[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}\b", re.IGNORECASE)


def _phone_or_not(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(character.isdigit() for character in text)
    if digits < _MIN_PHONE_DIGITS or _DATE.match(text.strip()):
        return text
    return PHONE


def redact(text: str) -> str:
    """`text` with email addresses, phone numbers and street addresses replaced by placeholders."""
    text = _EMAIL.sub(EMAIL, text)
    text = _STREET.sub(ADDRESS, text)
    text = _POSTCODE.sub(ADDRESS, text)
    return _DIGIT_RUN.sub(_phone_or_not, text)


def redact_strings(value: Any) -> Any:
    """Every string inside `value` (dicts, lists, as an event's JSON form holds them) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_strings(item) for item in value]
    return value
