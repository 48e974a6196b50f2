"""Taking personal data out of what people type before it is stored or logged.

People in pain write "call me on 07700 900123", "my name is Sarah O'Connor, born 12/03/1961" or
their NHS number. The conversation store and the logs keep placeholders instead: [email],
[phone], [address] (street addresses, UK postcodes and US ZIP codes), [date of birth],
[id number] (SSN-like, NHS, hospital and insurance numbers) and [name] (names after a title, "Dr
Patel", or introduced as names, "my name is ...", "my husband John"). Only those are replaced,
never the words the assistant and the red-flag detector need: symptoms, times ("since 3am"),
medicine names, doses, short numbers such as 911, 999, 112 or "116 123" (tests/test_redaction.py
checks that every red-flag phrasing raises the same flags after redaction, and that a set of
ordinary messages comes out unchanged). A name with no cue ("John Smith" alone) is not found:
that takes a language model (below).

Linear time: redaction runs on the event loop, on whatever a client sends. Every pattern starts
only at a word boundary or after a cue, and its repeats are either bounded or over characters that
cannot restart a match, so no pattern re-scans text it has failed on: the old email pattern took
5.6 s on 40,000 characters, these take about 1.5 ms; a megabyte of any adversarial shape takes
0.1 to 3 s, in proportion to its length (tests/test_redaction.py).

Why our own patterns and not Microsoft Presidio's analyzer: tried in a separate venv, it is 400 MB
with spaCy, needs pydantic 2 and numpy 2 where Rasa 3.6 pins pydantic 1.10 and numpy 1.23, and
finds names only with a spaCy language model: the official ones are not on PyPI (the only
registry these machines reach), only re-uploads by strangers, not to be trusted with people's
messages. Without one, on our examples it found the emails, phone and NHS numbers
but no name, date of birth, MRN, ZIP code or test SSN, at about 530 µs a message (these patterns:
about 50 µs), and it tries to download the public suffix list on start.
"""

from __future__ import annotations

import re
from typing import Any, Callable

EMAIL = "[email]"
PHONE = "[phone]"
ADDRESS = "[address]"
DATE_OF_BIRTH = "[date of birth]"
ID_NUMBER = "[id number]"
NAME = "[name]"

# The local part may hold apostrophes between other characters ("sarah_o'connor@nhs.net"), not
# around it ("sender 'jo@x.org'"). A match starts only where such a run starts, so each run is
# scanned once.
_EMAIL = re.compile(r"(?<![\w.+-])(?<![\w.+-]['’])\w[\w.+-]*(?:['’][\w.+-]+)*@[\w-]+(?:\.[\w-]+)+")

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_DATE_WRITTEN = (
    rf"\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{2,4}}"  # 12/03/1961, 1961-03-12
    rf"|{_DAY}\s{{1,3}}(?:of\s{{1,3}})?{_MONTH}(?:,?\s{{1,3}}\d{{2,4}})?"  # 12 March 1961, 3rd of may
    rf"|{_MONTH}\s{{1,3}}{_DAY}(?:,?\s{{1,3}}\d{{2,4}})?"  # March 12, 1961
    rf"|{_MONTH},?\s{{1,3}}\d{{4}}"  # March 1961
    r"|(?:19|20)\d\d"  # born in 1961
)
# "born 12/03/1961", "DOB: 1961-03-12", "my date of birth is 3rd of May 1958": the date goes, the cue stays.
_DATE_OF_BIRTH = re.compile(
    rf"(\b(?:born|d\.?o\.?b\.?|date\s{{1,3}}of\s{{1,3}}birth|birth\s{{0,3}}date|birthday)"
    rf"(?:\s{{0,3}}(?:is|was|on|in|:|-|=)){{0,2}}\s{{0,3}})(?:the\s{{1,3}})?(?:{_DATE_WRITTEN})\b",
    re.IGNORECASE,
)

# "NHS number 943 476 5919", "MRN: A1234567", "hospital no. RXH 123456": after the cue, up to
# five groups of letters and digits with at least _MIN_ID_DIGITS digits in all.
_ID_CUE = (
    r"(?:(?:nhs|chi|ni|hospital|patient|medical\s{1,3}records?|records?|unit|case|national\s{1,3}insurance|"
    r"social\s{1,3}security|insurance|member(?:ship)?|policy|medicare|medicaid|veteran)"
    r"\s{0,3}(?:no\b\.?|num\b\.?|number|#|id\b|identifier)|nhs|mrn|chi|ssn|nino|medicare|medicaid)"
)
# A group of an identifier: letters and digits, at least one digit ("943", "A1234567", "TE5").
_ID_GROUP = r"(?=[a-z]{0,11}\d)[a-z\d]{2,12}(?![a-z\d])"
_ID_CUED = re.compile(
    rf"(\b{_ID_CUE}(?:\s{{0,3}}(?:is|was|:|#|-|=)){{0,2}}\s{{0,3}})"
    rf"((?:[a-z]{{1,4}}[\s-]?)?{_ID_GROUP}(?:[\s-]{_ID_GROUP}){{0,4}})",
    re.IGNORECASE,
)
_MIN_ID_DIGITS = 5  # so "NHS 111" and "NHS 24" stay
# SSN-like numbers (123-45-6789) and UK National Insurance numbers (QQ 12 34 56 C), with no cue.
_ID_SHAPED = re.compile(
    r"\b\d{3}([- ])\d{2}\1\d{4}\b|\b[a-z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[a-d]\b", re.IGNORECASE)

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
    rf"\b\d{{1,5}}[a-z]?,?\s{{1,3}}(?:(?!(?:{_NOT_A_STREET_NAME})\b)[a-z'’-]{{1,30}}\s{{1,3}}){{1,3}}"
    rf"(?:{_STREET_WORDS})\b\.?",
    re.IGNORECASE,
)
# UK postcodes ("SW1A 1AA", "m1 2ab"), of the real postcode areas only: "su1c1de" is leetspeak.
_POSTCODE_AREAS = (
    "ab|al|b|ba|bb|bd|bh|bl|bn|br|bs|bt|ca|cb|cf|ch|cm|co|cr|ct|cv|cw|da|dd|de|dg|dh|dl|dn|dt|dy|e|ec|eh|en|"
    "ex|fk|fy|g|gl|gu|gy|ha|hd|hg|hp|hr|hs|hu|hx|ig|im|ip|iv|je|ka|kt|kw|ky|l|la|ld|le|ll|ln|ls|lu|m|me|mk|"
    "ml|n|ne|ng|nn|np|nr|nw|ol|ox|pa|pe|ph|pl|po|pr|rg|rh|rm|s|sa|se|sg|sk|sl|sm|sn|so|sp|sr|ss|st|sw|sy|ta|"
    "td|tf|tn|tq|tr|ts|tw|ub|w|wa|wc|wd|wf|wn|wr|ws|wv|yo|ze"
)
_POSTCODE = re.compile(rf"\b(?:{_POSTCODE_AREAS})\d[a-z\d]?\s{{0,3}}\d[a-z]{{2}}\b", re.IGNORECASE)
# US ZIP codes: ZIP+4 (10001-1234), after "zip" or a state ("CA 90210"), or five digits standing alone,
# unless a unit or a dose word says they are a quantity ("10000 steps", "50000 IU").
_ZIP_PLUS_FOUR = re.compile(r"(?<![\w-])\d{5}-\d{4}(?![\w-])")
_ZIP_CUED = re.compile(r"(\b(?:zip(?:\s{0,3}code)?|zipcode)(?:\s{0,3}(?:is|:|-)){0,2}\s{0,3})\d{5}\b"
                       r"|(\b(?-i:[A-Z]{2}),?\s{1,3})\d{5}\b", re.IGNORECASE)
_FIVE_DIGITS = re.compile(
    r"(?<![\w.,$£€#/:+-])\d{5}(?![.,]\d|[\w/:%-]|\s{0,2}(?:mg|mcg|µg|ug|g|iu|i\.u\.|units?|ml|mls|steps|miles?|km|"
    r"feet|ft|metres|meters|calories|kcal|people|pounds|lbs?|dollars|words|characters)\b)", re.IGNORECASE)
# Words before five digits that make them a dose, or a port in the server's own log lines.
_NOT_A_ZIP_BEFORE = re.compile(
    r"(?:vitamin\s{0,2}d\d?|vit\s{0,2}d\d?|d3|dose\s{1,3}of|took|take|taking|port)\s{1,3}$", re.IGNORECASE)

# A run of digits with the usual separators; counted as a phone number from 7 digits on. Linear:
# any digit of a run that is not followed by a letter can end a match, so a scan never fails far in.
_DIGIT_RUN = re.compile(r"(?<![\w])\+?\(?\d[\d\s().\-/]{5,}\d(?![\w])")
_MIN_PHONE_DIGITS = 7
_DATE = re.compile(r"^(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{2}|\d{4})|\d{4}[./-]\d{1,2}[./-]\d{1,2})$")

# A word that can be a name: letters, with inner apostrophes or hyphens (O'Connor, Smith-Jones).
_WORD = r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_])){0,30}"
_ROLE = (
    r"husband|wife|partner|son|daughter|mum|mom|mother|dad|father|brother|sister|carer|caregiver|friend|"
    r"neighbou?r|neurologist|neuro|gp|doctor|nurse|consultant|physio|physiotherapist|therapist|counsellor|"
    r"boyfriend|girlfriend|fianc[eé]e?|grandson|granddaughter|aunt|uncle|niece|nephew|colleague|boss|"
    r"specialist|pharmacist|surgeon"
)
_INTRODUCED = (
    r"my\s{1,3}name\s{1,3}is|my\s{1,3}name's|name:|i'?m\s{1,3}called|i\s{1,3}am\s{1,3}called|i\s{1,3}go\s{1,3}by"
)
# A cue and the one or two words after it; _name_in decides which of them, if any, are a name.
_NAME_CUED = re.compile(
    # "dr patel", "Mrs O'Connor": the short titles name someone even in lower case.
    rf"(?P<cue>\b(?:(?P<short_title>(?i:dr|mr|mrs|mx|prof)\.?)"
    # "Nurse Jackie", "Ms Jones": "my sister lives", "ms pain" and "I miss walking" are no names.
    rf"|(?i:doctor|professor|nurse|sister|matron)|Ms\.?|Miss"
    # "my name is sarah", "I'm called Ann".
    rf"|(?P<introduced>(?i:{_INTRODUCED}))"
    # "my husband John", "my MS nurse, Sarah", "our neurologist is called Ahmed".
    rf"|(?i:(?:my|our|her|his|their|a|the)\s{{1,3}}(?:[a-z]{{1,15}}\s{{1,3}})?(?:{_ROLE})"
    rf"(?:,|\s{{1,3}}(?:is|was)\s{{1,3}}(?:called|named)|\s{{1,3}}(?:called|named))?)"
    # "call me Jo" ("call me back", "call me crazy"), "Hi, I'm Sarah", "Thanks, Ann".
    rf"|(?i:(?:they\s{{1,3}})?call\s{{1,3}}me)"
    rf"|(?i:(?:hi|hello|hey|hiya|morning|evening)[,!.]?\s{{1,3}}(?:i'?m|i\s{{1,3}}am|it'?s|this\s{{1,3}}is))"
    rf"|(?i:thanks|thank\s{{1,3}}you|many\s{{1,3}}thanks|cheers|regards|best\s{{1,3}}wishes|love)[,!])"
    rf"\s{{1,3}})(?P<first>{_WORD})(?P<second>\s{{1,3}}{_WORD})?",
)
# "this is Sarah speaking", "it's Jo here".
_NAME_SPEAKING = re.compile(
    rf"(\b(?i:this\s{{1,3}}is|it'?s|it\s{{1,3}}is)\s{{1,3}})({_WORD}(?:\s{{1,3}}{_WORD})?)(\s{{1,3}}(?i:speaking|here)\b)")

# Words that follow the cues above in ordinary messages ("my name is on the waiting list", "call me
# back", "dr said", "my neurologist Monday"): never taken for a name.
_COMMON_WORDS = frozenset("""
a about after again all also am an and any anyone anything anytime are as asap at back be because been before
being but by can cant can't could did didn't do does doesn't done down else even ever every for from gave get
gets give gives go going gone got had has have he her here him his how i i'd i'll i'm im if in into is isn't
it it's its just last later let like may me might mine more most much must my need needs never new next no
none not now of off ok okay on once one only or other our out over please quite rather really right said same
say says see seems she should since so some something soon sorry still such sure than thank thanks that the
their them then there these they think thinks this those though thought through to today told tell tells
tomorrow tonight too under until up upped us very want wants was we well were what when where which while
who whom whose why will with without would yes yesterday yet you your
written spelled spelt listed missing wrong different put changed increased reduced stopped started
prescribed suggested recommended mentioned explained checked sent referred reckons agreed wanted asked
appointment appointments appt visit office surgery letter letters note notes call phone app clinic team
ms pain nurse doctor dr neuro neurologist gp consultant physio specialist mr mrs miss prof
monday tuesday wednesday thursday friday saturday sunday january february march april june july august
september october november december morning afternoon evening night week weekend month year
""".split())


def _is_name(word: str, capital_needed: bool) -> bool:
    if word.lower() in _COMMON_WORDS:
        return False
    capitalised = word[0].isupper() and not word.isupper()
    return capitalised or (not capital_needed and word.islower())


def _possessive(word: str) -> tuple[str, str]:
    """("Patel", "'s") from "Patel's": the name goes, the possessive stays."""
    for ending in ("'s", "’s"):
        if word.lower().endswith(ending) and len(word) > len(ending):
            return word[: -len(ending)], word[-len(ending):]
    return word, ""


def _name_in(match: re.Match[str]) -> tuple[int, str] | None:
    """Where the name after this cue ends and what replaces it, or None if the words are no name."""
    lower_case_allowed = match["short_title"] is not None or match["introduced"] is not None
    first, first_suffix = _possessive(match["first"])
    if not _is_name(first, capital_needed=not lower_case_allowed):
        return None
    if match["second"] and not first_suffix:
        second, second_suffix = _possessive(match["second"].strip())
        # A lower-case second word only when someone introduced themselves in lower case ("my name is jo smith").
        if _is_name(second, capital_needed=not (match["introduced"] and first.islower())):
            return match.end("second"), NAME + second_suffix
    return match.end("first"), NAME + first_suffix


def _redact_names(text: str) -> str:
    """Names after a cue replaced. Searched on by hand rather than with sub(): words rejected as a
    name may begin the next cue ("Mr and Mrs Smith", "my GP Dr Patel")."""
    pieces, done, search_from = [], 0, 0
    while (match := _NAME_CUED.search(text, search_from)) is not None:
        found = _name_in(match)
        if found is None:
            search_from = match.end("cue")
            continue
        name_end, placeholder = found
        pieces += [text[done:match.end("cue")], placeholder]
        done = search_from = name_end
    pieces.append(text[done:])
    return "".join(pieces)


def _speaking_name_or_not(match: re.Match[str]) -> str:
    capital_needed = match.group(3).strip().lower() == "here"  # "it's hot here" is no name
    if all(_is_name(word, capital_needed) for word in match.group(2).split()):
        return f"{match.group(1)}{NAME}{match.group(3)}"
    return match.group(0)


def _id_or_not(match: re.Match[str]) -> str:
    if sum(character.isdigit() for character in match.group(2)) < _MIN_ID_DIGITS:
        return match.group(0)
    return f"{match.group(1)}{ID_NUMBER}"


def _zip_cued(match: re.Match[str]) -> str:
    return f"{match.group(1) or match.group(2)}{ADDRESS}"


def _zip_or_not(match: re.Match[str]) -> str:
    before = match.string[max(0, match.start() - 20):match.start()]
    return match.group(0) if _NOT_A_ZIP_BEFORE.search(before) else ADDRESS


def _phone_or_not(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(character.isdigit() for character in text)
    if digits < _MIN_PHONE_DIGITS or _DATE.match(text.strip()):
        return text
    return PHONE


# Each of these needs a digit in what it replaces: skipped for a message without one.
_NUMBER_STEPS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_DATE_OF_BIRTH, rf"\1{DATE_OF_BIRTH}"),
    (_ID_CUED, _id_or_not),
    (_ID_SHAPED, ID_NUMBER),
    (_ZIP_PLUS_FOUR, ADDRESS),
    (_ZIP_CUED, _zip_cued),
    (_STREET, ADDRESS),
    (_POSTCODE, ADDRESS),
    (_DIGIT_RUN, _phone_or_not),
    (_FIVE_DIGITS, _zip_or_not),
)
_ANY_DIGIT = re.compile(r"\d")


def redact(text: str) -> str:
    """`text` with personal data replaced by placeholders."""
    if "@" in text:
        text = _EMAIL.sub(EMAIL, text)
    if _ANY_DIGIT.search(text):
        for pattern, replacement in _NUMBER_STEPS:
            text = pattern.sub(replacement, text)
    text = _NAME_SPEAKING.sub(_speaking_name_or_not, text)
    return _redact_names(text)


# Metadata comes from the sender's platform and may hold whole fields of personal data, such as a
# profile's name: a value under one of these keys goes whole.
_PERSONAL_KEYS = (
    (re.compile(r"e_?mail"), EMAIL),
    (re.compile(r"phone|mobile|^tel|telephone|msisdn"), PHONE),
    (re.compile(r"birth|^dob$|birthday"), DATE_OF_BIRTH),
    (re.compile(r"address|street|postcode|postal|zip|city"), ADDRESS),
    (re.compile(r"ssn|nhs|mrn|passport|licen[cs]e|insurance"), ID_NUMBER),
    (re.compile(r"name$|^name|surname|nickname"), NAME),
)


def _personal_key(key: Any) -> str | None:
    """The placeholder for a metadata field that holds personal data as a whole, if `key` names one."""
    if not isinstance(key, str):
        return None
    key = re.sub(r"[\s-]+", "_", key.strip().lower())
    return next((placeholder for pattern, placeholder in _PERSONAL_KEYS if pattern.search(key)), None)


def _replaced_whole(value: Any, placeholder: str) -> Any:
    if isinstance(value, dict):
        return {key: _replaced_whole(item, placeholder) for key, item in value.items()}
    if isinstance(value, list):
        return [_replaced_whole(item, placeholder) for item in value]
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return placeholder
    return value


def redact_strings(value: Any, in_metadata: bool = False) -> Any:
    """Every string inside `value` (dicts, lists, as an event's JSON form holds them) redacted; inside
    a "metadata" field, also every value under a key that names personal data ("name", "email")."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        redacted = {}
        for key, item in value.items():
            placeholder = _personal_key(key) if in_metadata else None
            redacted[redact(key) if isinstance(key, str) else key] = (
                _replaced_whole(item, placeholder) if placeholder
                else redact_strings(item, in_metadata or key == "metadata"))
        return redacted
    if isinstance(value, list):
        return [redact_strings(item, in_metadata) for item in value]
    return value
