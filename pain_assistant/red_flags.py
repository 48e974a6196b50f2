"""Find red flags (possible emergencies) in what someone writes, deterministically.

The flags, their patterns and replies live in `knowledge/red_flags.yml`, which editors change.
Detection does not depend on the intent classifier: the Rasa component in
`pain_assistant.rasa_components` runs it on every message and overrides the intent.

Pattern language (kept small so editors can read it):
- A pattern is one or more parts joined by ` + `. Every part must appear, in any order, within
  WINDOW words of each other: "{leg} + {swollen}" matches "calf is swollen" and "swollen calf".
- A part is one or more phrases joined by `|`; any one of them will do: "cant breathe|gasping".
- A phrase is words and terms in order, with at most GAP other words between neighbours:
  "cant breathe" also matches "cant really breathe". A word may end in `*` to match any word
  starting that way (`swell*`); a `{term}` is any of the words or phrases listed under the file's
  `terms`.
- A message is read as `pain_assistant.normalise` reads it: "k1ll", "ｄｒｏｏｐｉｎｇ", "<b>ki</b>ll",
  "k i l l" and a Cyrillic "і" inside a word are the words a person reads.
- Words are compared after lowercasing and dropping apostrophes ("can't" is "cant"), and
  tolerate one typo in words of 5+ letters and two in words of 9+ ("swolen", "breathign"); a
  4-letter word written without its vowel ("cnt", "lft"); a letter stretched into a double
  ("kiill", "arrm"); and a prefix's double letter written once before a vowel ("droping").
  `=word` turns that off where a typo would be another common word (`=worst` is not "worse").
- A mention right after one of the file's `negation: before` words ("no chest pain", "never had
  steroids"), or right before an `after` one ("my hips are fine"), is one the person says they do
  not have, and does not count: see `Negation`.
- A match the person then says is over ("fell and broke my wrist last year, it's healed now") does
  not count either: see `Over`.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path
from typing import Any, Iterable

from pain_assistant.knowledge import PROJECT_ROOT
from pain_assistant.normalise import normalise
from pain_assistant.validation import ID_PATTERN, KnowledgeError, Source, parse_reviewed, parse_sources, read_yaml

DEFAULT_RED_FLAGS_FILE = PROJECT_ROOT / "knowledge" / "red_flags.yml"
DEFAULT_REGIONS_FILE = PROJECT_ROOT / "knowledge" / "regions.yml"

SEVERITIES = ("emergency", "crisis", "urgent")  # most severe first
PLACEHOLDERS = ("emergency_number", "crisis_line", "crisis_line_short", "urgent_care", "helpline", "poison_help")
# Which placeholder each severity's reply must carry, so every warning says whom to call.
REQUIRED_PLACEHOLDER = {"emergency": "emergency_number", "crisis": "crisis_line", "urgent": "urgent_care"}
# The check-in questions asked when a flag is suspected but not certain, and the placeholder each
# must carry: the question names whom to call in one short line, before any answer.
CHECKS = {"crisis": "crisis_line_short", "now": "emergency_number"}
TOP_LEVEL_FIELDS = {"disclaimer", "human_handoff", "checks", "terms", "negation", "over", "flags"}
GAP = 1
# Wide enough for a long message that names the cause early and the symptom late (a steroid
# course, then hip pain two clauses on); no set's false alarms rose from 16 to 24.
WINDOW = 24

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_TERM_REF = re.compile(r"^\{([a-z0-9_]+)\}$")
_WORD = re.compile(r"=?[a-z0-9]+\*?")
_PLAIN_WORDS = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    after_space: bool  # only spaces since the previous word: no comma, full stop or dash between


def tokenize(text: str) -> list[Token]:
    """Lowercase words with their character offsets; apostrophes dropped ("can't" -> "cant")."""
    lowered = text.lower().replace("’", "'").replace("‘", "'")
    tokens, previous_end = [], None
    for m in _TOKEN.finditer(lowered):
        after_space = previous_end is not None and lowered[previous_end:m.start()].isspace()
        tokens.append(Token(m.group(0).replace("'", ""), m.start(), m.end(), after_space))
        previous_end = m.end()
    return tokens


def _typos_allowed(word: str) -> int:
    return 2 if len(word) >= 9 else 1 if len(word) >= 5 else 0


_VOWELS = frozenset("aeiouy")
# Doubled letters a token may have lost one of each of (see `_spellings`): 3 is 8 spellings.
_MOST_DOUBLES = 3
# English writes many words with these twice and others with them once ("loose" and "lose",
# "steep" and "step", "hoot" and "hot"), so a double of them is kept as written.
_DOUBLES_OF_WORDS = frozenset("eo")


@lru_cache(maxsize=65536)
def word_matches(pattern_word: str, token: str) -> bool:
    """Exact, prefix (`swell*`), or within the typo allowance (adjacent swaps count as one); or,
    exact or prefix only, with a letter the token holds twice held once ("kiill": see `_spellings`).
    A typo on top of that would make other words of real ones ("wedding" "weeing", "really" "ready")."""
    if pattern_word.startswith("="):
        return token == pattern_word[1:]
    if pattern_word.endswith("*"):
        stem = pattern_word[:-1]
        return (
            any(spelling.startswith(stem) for spelling in _spellings(token))
            or _single_for_double(stem, token) or _vowel_dropped(stem, token)
        )
    return pattern_word in _spellings(token) or _within_typos(pattern_word, token)


def _within_typos(pattern_word: str, token: str) -> bool:
    allowed = _typos_allowed(pattern_word)
    if allowed == 0:
        return _vowel_dropped(pattern_word, token)
    return abs(len(token) - len(pattern_word)) <= allowed and _distance(pattern_word, token, allowed) <= allowed


@lru_cache(maxsize=65536)
def _spellings(token: str) -> frozenset[str]:
    """The token, and the token with one letter of some of its doubled letters dropped.
    `normalise` keeps two of a run ("kiiilll" is "kiill"), which may be one more than the word has.
    Tokens under four letters keep theirs ("odd" is not "od"), and so do "ee" and "oo"."""
    doubles = [
        at for at in range(1, len(token)) if token[at] == token[at - 1] and token[at] not in _DOUBLES_OF_WORDS
    ][:_MOST_DOUBLES]
    if len(token) < 4 or not doubles:
        return frozenset((token,))
    return frozenset(
        "".join(char for at, char in enumerate(token) if at not in dropped)
        for size in range(len(doubles) + 1) for dropped in combinations(doubles, size)
    )


def _vowel_dropped(pattern_word: str, token: str) -> bool:
    """Textspeak for a 4-letter word or prefix: one vowel left out, leaving none ("cnt", "lft", "wnt").
    A token with a vowel left is too often another word ("had" for "head", "dad" for "dead")."""
    return (
        len(pattern_word) == 4 and len(token) == 3 and _VOWELS.isdisjoint(token)
        and any(pattern_word[:at] + pattern_word[at + 1:] == token for at, char in enumerate(pattern_word) if char in _VOWELS)
    )


def _single_for_double(stem: str, token: str) -> bool:
    """A prefix's doubled letter written once before a vowel ("droping" for `droop*`): English
    would double the consonant after a short vowel ("dropping"), so this is a misspelling, not
    another word ("drops", "dropped" do not count)."""
    return any(
        token.startswith(single) and len(token) > len(single) and token[len(single)] in _VOWELS
        for single in (stem[:at] + stem[at + 1:] for at in range(1, len(stem)) if stem[at] == stem[at - 1])
    )


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance, giving up once past `limit`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


# A phrase is a sequence of slots; each slot is matched by any one of its word sequences
# (a plain word is a slot of one one-word sequence; a {term} is a slot of the term's phrases).
Slot = tuple[tuple[str, ...], ...]
Phrase = tuple[Slot, ...]
Part = tuple[Phrase, ...]


@dataclass(frozen=True)
class Pattern:
    source: str
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class RedFlag:
    id: str
    severity: str
    title: str
    patterns: tuple[Pattern, ...]
    reply: str
    sources: tuple[Source, ...]
    reviewed: dt.date

    @property
    def rank(self) -> int:
        return SEVERITIES.index(self.severity)

    @property
    def check(self) -> str:
        """The check-in question for this flag: about thoughts of suicide, or whether it is happening now."""
        return "crisis" if self.severity == "crisis" else "now"


@dataclass(frozen=True)
class Negation:
    """What says a symptom is absent ("no chest pain", "never had steroids"), kept narrow because a
    missed emergency costs far more than a false alarm. A mention is denied only when
    - it is one of the things listed in `of`: symptoms and treatments a person has or has not had,
      never a loss of function, whose absence is itself the symptom ("no feeling", "not talking");
    - one of the `before` phrases comes right before it, or one of the `after` phrases right after
      it ("my hips are fine"), with only spaces between ("no, her face is drooping" is not
      denied), compared exactly ("ever" is not "never");
    - none of the `unless_after` phrases comes within UNLESS_REACH words after it ("never had chest
      pain like this" is new, not absent), unless right after a LISTING word ("no fever, nothing
      like that").
    Patterns that use a negation word themselves ("no control of my bladder", "{cant} + breathe")
    and crisis flags (someone who says they are not suicidal may still need the line) are never
    negated."""

    of: Part = ()
    before: tuple[tuple[str, ...], ...] = ()
    unless_after: tuple[tuple[str, ...], ...] = ()
    after: tuple[tuple[str, ...], ...] = ()

    UNLESS_REACH = 6
    # "no fever, nothing like that": an `unless_after` phrase right after these goes on denying.
    LISTING = frozenset({"nothing", "anything"})

    @property
    def words(self) -> frozenset[str]:
        """The first word of each `before` phrase: a pattern holding one is never negated."""
        return frozenset(phrase[0] for phrase in self.before)

    def denies(self, tokens: list[Token], first: int, last: int) -> bool:
        """Whether the mention at tokens[first..last] is one the person says they do not have."""
        return (
            any(_match_phrase(phrase, tokens, first) is not None for phrase in self.of)
            and (self._follows_negation(tokens, first) or self._precedes_negation(tokens, last))
            and not any(
                _starts_with(tokens, at, phrase) and tokens[at - 1].text not in self.LISTING
                for at in range(last + 1, min(last + 1 + self.UNLESS_REACH, len(tokens)))
                for phrase in self.unless_after
            )
        )

    def _follows_negation(self, tokens: list[Token], first: int) -> bool:
        return any(
            first >= len(phrase)
            and _starts_with(tokens, first - len(phrase), phrase)
            and all(tokens[at].after_space for at in range(first - len(phrase) + 1, first + 1))
            for phrase in self.before
        )

    def _precedes_negation(self, tokens: list[Token], last: int) -> bool:
        return any(
            _starts_with(tokens, last + 1, phrase)
            and all(tokens[at].after_space for at in range(last + 1, last + 1 + len(phrase)))
            for phrase in self.after
        )


@dataclass(frozen=True)
class Over:
    """What says a mention is of something over ("fell last year and broke my wrist, it's healed
    now"), kept narrow because a missed emergency costs far more than a false alarm. A match does
    not count when
    - one of the `said_by` phrases (healed, cleared up, sorted it...) comes within REACH words
      after it: one before it or inside it is about something else ("it healed, but today I fell
      and hit my head");
    - one of the `past` phrases (last year, years ago, was...) starts in it, in the PAST_BEFORE
      words before it or the PAST_AFTER words after it: the person is telling of something gone by,
      not of a symptom now with a history beside it ("swollen calf, the clot I had years ago
      cleared");
    - none of the `unless` phrases (now, today, still, is, hopefully, but...) comes in it or between
      it and the `said_by` phrase, and none of the `reopened_by` phrases (came back, then, but...)
      within REACH words after that phrase.
    Crisis flags are never taken back."""

    said_by: tuple[tuple[str, ...], ...] = ()
    past: tuple[tuple[str, ...], ...] = ()
    unless: tuple[tuple[str, ...], ...] = ()
    reopened_by: tuple[tuple[str, ...], ...] = ()

    REACH = 12
    PAST_BEFORE = 6
    PAST_AFTER = 2

    def settles(self, tokens: list[Token], first: int, last: int) -> bool:
        """Whether the match at tokens[first..last] is of something the person says is over."""
        if not any(
            _starts_with(tokens, at, phrase)
            for at in range(max(0, first - self.PAST_BEFORE), last + 1 + self.PAST_AFTER) for phrase in self.past
        ):
            return False
        for at in range(first, min(last + 2 + self.REACH, len(tokens))):
            if at > last and any(_starts_with(tokens, at, phrase) for phrase in self.said_by):
                return not any(
                    _starts_with(tokens, after, phrase)
                    for after in range(at + 1, min(at + 1 + self.REACH, len(tokens))) for phrase in self.reopened_by
                )
            if any(_starts_with(tokens, at, phrase) for phrase in self.unless):
                return False
        return False


def _starts_with(tokens: list[Token], at: int, words: tuple[str, ...]) -> bool:
    return at + len(words) <= len(tokens) and all(tokens[at + k].text == word for k, word in enumerate(words))


def _pattern_words(pattern: Pattern) -> frozenset[str]:
    """Every word a pattern can match on, without its `=` and `*` marks."""
    return frozenset(
        word.lstrip("=").rstrip("*") for part in pattern.parts for phrase in part for slot in phrase
        for words in slot for word in words
    )


@dataclass(frozen=True)
class Detection:
    """A flag raised, and where: `start` and `end` index the normalised text, whose slice is
    `matched` (for text written normally that is the text as given)."""

    flag: RedFlag
    start: int
    end: int
    matched: str


class RedFlagDetector:
    """All flags of the file; `detect` returns what a message raises, most severe first."""

    def __init__(
        self, flags: Iterable[RedFlag], disclaimer: str, human_handoff: str, negation: Negation = Negation(),
        over: Over = Over(), checks: dict[str, str] | None = None,
    ):
        self.flags = list(flags)
        self.disclaimer = disclaimer
        self.human_handoff = human_handoff
        self.checks = checks or {}
        self.negation = negation
        self._negation_of = {
            pattern: None if flag.severity == "crisis" or _pattern_words(pattern) & negation.words else negation
            for flag in self.flags for pattern in flag.patterns
        }
        self._over_of = {
            pattern: None if flag.severity == "crisis" or not over.said_by else over
            for flag in self.flags for pattern in flag.patterns
        }
        self._openers = {pattern: tuple(map(_openers, pattern.parts)) for flag in self.flags for pattern in flag.patterns}
        every_opener = frozenset().union(*(o for openers in self._openers.values() for o in openers))
        self._openers_matching = lru_cache(maxsize=65536)(
            lambda token: frozenset(word for word in every_opener if word_matches(word, token))
        )

    def detect(self, text: str) -> list[Detection]:
        text = normalise(text)
        tokens = tokenize(text)
        # A part can only match where one of its phrases' first words does, so a pattern with a
        # part whose first words match no word of the message is skipped without searching:
        # the same result, found in a tenth of the time.
        present = frozenset().union(*(self._openers_matching(token.text) for token in tokens))
        found = []
        for flag in self.flags:
            for pattern in flag.patterns:
                if any(present.isdisjoint(openers) for openers in self._openers[pattern]):
                    continue
                span = self.find(pattern, tokens)
                if span is not None:
                    start, end = tokens[span[0]].start, tokens[span[1]].end
                    found.append(Detection(flag, start, end, text[start:end]))
                    break
        return sorted(found, key=lambda d: d.flag.rank)

    def find(self, pattern: Pattern, tokens: list[Token]) -> tuple[int, int] | None:
        """The token span of one match of one of this detector's patterns, negation applied."""
        return _find(pattern, tokens, self._negation_of[pattern], self._over_of[pattern])

    def get(self, flag_id: str) -> RedFlag | None:
        return next((flag for flag in self.flags if flag.id == flag_id), None)


def _openers(part: Part) -> frozenset[str]:
    """The pattern words a part's match must start with: the first word of each phrase's first slot."""
    return frozenset(words[0] for phrase in part for words in phrase[0])


def _find_part(part: Part, tokens: list[Token], negation: Negation | None) -> list[tuple[int, int]]:
    """Every (first, last) token index where one of the part's phrases appears, not denied."""
    spans = []
    for begin in range(len(tokens)):
        for phrase in part:
            last = _match_phrase(phrase, tokens, begin)
            if last is not None:
                if negation is None or not negation.denies(tokens, begin, last):
                    spans.append((begin, last))
                break
    return spans


def _match_phrase(phrase: Phrase, tokens: list[Token], begin: int) -> int | None:
    last = _match_slot(phrase[0], tokens, begin)
    for slot in phrase[1:]:
        if last is None:
            return None
        last = next(
            (end for skip in range(GAP + 1) if (end := _match_slot(slot, tokens, last + 1 + skip)) is not None),
            None,
        )
    return last


def _match_slot(slot: Slot, tokens: list[Token], at: int) -> int | None:
    """The index of the last token of the first of the slot's word sequences found at `at`."""
    for words in slot:
        if at + len(words) <= len(tokens) and all(
            word_matches(word, tokens[at + k].text) for k, word in enumerate(words)
        ):
            return at + len(words) - 1
    return None


def _find(pattern: Pattern, tokens: list[Token], negation: Negation | None, over: Over | None) -> tuple[int, int] | None:
    """The span covering one match of every part within WINDOW words, not said to be over, if there
    is one. Stops at the first part with no match: most patterns fail on their first part, and
    every message is checked against every pattern, so this is most of the detector's time."""
    candidates = []
    for part in pattern.parts:
        spans = _find_part(part, tokens, negation)
        if not spans:
            return None
        candidates.append(spans)
    counts = (lambda span: True) if over is None else (lambda span: not over.settles(tokens, *span))
    return _within_window(candidates, 0, None, counts)


def _within_window(candidates: list[list[tuple[int, int]]], index: int, span: tuple[int, int] | None, counts):
    if index == len(candidates):
        return span if counts(span) else None
    for first, last in candidates[index]:
        merged = (first, last) if span is None else (min(span[0], first), max(span[1], last))
        if merged[1] - merged[0] <= WINDOW:
            result = _within_window(candidates, index + 1, merged, counts)
            if result is not None:
                return result
    return None


def load(
    path: Path | str = DEFAULT_RED_FLAGS_FILE,
    regions_path: Path | str = DEFAULT_REGIONS_FILE,
    region: str = "us",
    today: dt.date | None = None,
) -> RedFlagDetector:
    """Read and validate the red-flag file, with replies filled in for `region`."""
    numbers = load_region(Path(regions_path), region)
    path = Path(path)
    return parse(read_yaml(path), path, numbers, today or dt.date.today())


def load_region(path: Path, region: str) -> dict[str, str]:
    """The emergency, crisis and urgent-care wording of one region from `regions.yml`."""
    regions = read_yaml(path)
    if not isinstance(regions, dict) or region not in regions:
        known = ", ".join(regions) if isinstance(regions, dict) else "none"
        raise KnowledgeError(path, [f"region '{region}' is not defined (known: {known})"])
    entry = regions[region]
    problems = [
        f"region '{region}': field '{name}': missing"
        for name in (*PLACEHOLDERS, "name")
        if not isinstance(entry, dict) or not isinstance(entry.get(name), str) or not entry[name].strip()
    ]
    if problems:
        raise KnowledgeError(path, problems)
    return {name: entry[name].strip() for name in PLACEHOLDERS}


def parse(document: Any, path: Path, numbers: dict[str, str], today: dt.date) -> RedFlagDetector:
    if not isinstance(document, dict) or not isinstance(document.get("flags"), list):
        raise KnowledgeError(path, ["the file must have a top-level 'flags:' list"])
    problems: list[str] = [
        f"'{unknown}': unknown top-level field (a typo?)" for unknown in sorted(set(document) - TOP_LEVEL_FIELDS)
    ]
    terms = _parse_terms(document.get("terms"), problems)
    negation = _parse_negation(document.get("negation"), terms, problems)
    over = _parse_over(document.get("over"), terms, problems)
    disclaimer = _render(document.get("disclaimer"), numbers, "disclaimer", problems, "emergency")
    human_handoff = _render(document.get("human_handoff"), numbers, "human_handoff", problems, None)
    checks = _parse_checks(document.get("checks"), numbers, problems)

    flags: list[RedFlag] = []
    seen: set[str] = set()
    for position, raw in enumerate(document["flags"], start=1):
        flag_id = raw.get("id") if isinstance(raw, dict) else None
        where = f"flag '{flag_id}'" if isinstance(flag_id, str) and flag_id else f"flag #{position}"
        flag_problems: list[str] = []
        flag = _parse_flag(raw, terms, numbers, today, flag_problems) if isinstance(raw, dict) else None
        if not isinstance(raw, dict):
            flag_problems.append("must be a mapping of fields")
        if isinstance(flag_id, str) and flag_id in seen:
            flag_problems.append("field 'id': duplicate id, already used by an earlier flag")
        seen.add(str(flag_id))
        problems += [f"{where}: {problem}" for problem in flag_problems]
        if flag is not None and not flag_problems:
            flags.append(flag)
    if problems:
        raise KnowledgeError(path, problems)
    return RedFlagDetector(flags, disclaimer or "", human_handoff or "", negation, over, checks)


def _parse_terms(value: Any, problems: list[str]) -> dict[str, tuple[tuple[str, ...], ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append("terms: must map term names to lists of words or phrases")
        return {}
    terms: dict[str, tuple[tuple[str, ...], ...]] = {}
    for name, phrases in value.items():
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            problems.append(f"term '{name}': must be a non-empty list of words or phrases")
            continue
        # A term may be built on one listed above it, so the two cannot drift apart.
        terms[str(name)] = _with_terms(phrases, terms, problems, f"term '{name}': '{{}}' is not a term listed above it")
    return terms


def _with_terms(
    entries: list[str], terms: dict[str, tuple[tuple[str, ...], ...]], problems: list[str], unknown: str,
) -> tuple[tuple[str, ...], ...]:
    """Each entry's words, an entry "{term}" standing for all of that term's phrases; `unknown`
    (with {} for the entry) is the problem noted for a term not defined."""
    phrases: list[tuple[str, ...]] = []
    for entry in entries:
        reference = _TERM_REF.fullmatch(entry.strip())
        if reference is None:
            phrases.append(tuple(entry.split()))
        elif reference.group(1) in terms:
            phrases += terms[reference.group(1)]
        else:
            problems.append(unknown.format(entry))
    return tuple(phrases)


def _is_section(value: Any, section: str, fields: tuple[str, ...], problems: list[str]) -> bool:
    """Whether an optional section is there and a mapping; notes what is wrong with it."""
    if value is None:
        return False
    if not isinstance(value, dict):
        problems.append(f"{section}: must map {', '.join(fields)} to lists of words or phrases")
        return False
    problems += [f"{section}: '{unknown}': unknown field (a typo?)" for unknown in sorted(set(value) - set(fields))]
    return True


def _parse_negation(value: Any, terms: dict[str, tuple[tuple[str, ...], ...]], problems: list[str]) -> Negation:
    """The optional `negation:` mapping; without it, nothing is negated."""
    fields = ("of", "before", "unless_after", "after")
    if not _is_section(value, "negation", fields, problems):
        return Negation()
    of: Part = ()
    listed = value.get("of")
    if not isinstance(listed, list) or not listed or not all(isinstance(p, str) and p.strip() for p in listed):
        problems.append("negation: 'of': must list the words, phrases or {terms} that can be denied")
    elif any(" + " in p for p in listed):
        problems.append("negation: 'of': one word, phrase or {term} per entry, without ' + '")
    else:
        try:
            of = _parse_pattern("|".join(p.strip() for p in listed), terms).parts[0]
        except ValueError as error:
            problems.append(f"negation: 'of': {error}")
    phrases = {}
    for name in fields[1:]:
        listed = value.get(name, [])
        if not isinstance(listed, list) or not all(isinstance(p, str) and _PLAIN_WORDS.fullmatch(p) for p in listed):
            problems.append(f"negation: '{name}': must list words or phrases of plain lowercase words: no '*', "
                            "'=', '{term}' or apostrophes (\"havent\", not \"haven't\"), and \"no\" in quotes "
                            "(YAML reads a bare no as false)")
            listed = []
        phrases[name] = tuple(tuple(p.split()) for p in listed)
    return Negation(of, phrases["before"], phrases["unless_after"], phrases["after"])


def _parse_over(value: Any, terms: dict[str, tuple[tuple[str, ...], ...]], problems: list[str]) -> Over:
    """The optional `over:` mapping; without it, no match is taken back."""
    fields = ("said_by", "past", "unless", "reopened_by")
    if not _is_section(value, "over", fields, problems):
        return Over()
    plain = ("must list {terms} or phrases of plain lowercase words: no '*', '=' or apostrophes "
             "(\"its healed\", not \"it's healed\")")
    phrases: dict[str, tuple[tuple[str, ...], ...]] = {}
    for name in fields:
        listed = value.get(name, [])
        if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
            problems.append(f"over: '{name}': {plain}")
            listed = []
        # Over's phrases are compared exactly, so a term's `=` marks go.
        expanded = tuple(
            tuple(word.lstrip("=") for word in words)
            for words in _with_terms(listed, terms, problems, f"over: '{name}': unknown term '{{}}'")
        )
        if not all(_TERM_REF.fullmatch(entry) or _PLAIN_WORDS.fullmatch(entry) for entry in listed) or not all(
            _PLAIN_WORDS.fullmatch(" ".join(words)) for words in expanded
        ):
            problems.append(f"over: '{name}': {plain}")
            expanded = ()
        phrases[name] = expanded
    if not value.get("said_by"):
        problems.append("over: 'said_by': must list the phrases that say a mention is over")
    return Over(phrases["said_by"], phrases["past"], phrases["unless"], phrases["reopened_by"])


def _parse_pattern(source: str, terms: dict[str, tuple[tuple[str, ...], ...]]) -> Pattern:
    """Compile one pattern; raise ValueError saying what is wrong with it."""
    parts = []
    for part_source in source.split(" + "):
        phrases = []
        for phrase_source in part_source.split("|"):
            slots = []
            for word in phrase_source.split():
                term = _TERM_REF.match(word)
                if term:
                    if term.group(1) not in terms:
                        raise ValueError(f"unknown term '{{{term.group(1)}}}'")
                    slots.append(terms[term.group(1)])
                elif _WORD.fullmatch(word):
                    slots.append(((word,),))
                else:
                    raise ValueError(f"'{word}' is not a lowercase word, a prefix* or a {{term}}")
            if not slots:
                raise ValueError("an empty phrase (check the '|' and ' + ' signs)")
            phrases.append(tuple(slots))
        parts.append(tuple(phrases))
    return Pattern(source, tuple(parts))


def _parse_checks(value: Any, numbers: dict[str, str], problems: list[str]) -> dict[str, str]:
    """The `checks:` mapping: one question per kind in CHECKS, each naming whom to call."""
    if not isinstance(value, dict):
        problems.append(f"checks: must map {', '.join(CHECKS)} to the question's text")
        return {}
    problems += [f"checks: '{unknown}': unknown field (a typo?)" for unknown in sorted(set(value) - set(CHECKS))]
    rendered = {
        kind: _render(value.get(kind), numbers, f"checks: '{kind}'", problems, "emergency", required)
        for kind, required in CHECKS.items()
    }
    return {kind: text for kind, text in rendered.items() if text is not None}


def _render(
    template: Any, numbers: dict[str, str], where: str, problems: list[str], severity: str | None,
    required: str | None = None,
) -> str | None:
    """Fill in the region's numbers; check the reply says whom to call (`required`, by default the
    severity's placeholder), and only what it may. `severity` None is a message that is not a
    warning: it must not carry the emergency number."""
    if not isinstance(template, str) or not template.strip():
        problems.append(f"{where}: must be non-empty text")
        return None
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    unknown = names - set(PLACEHOLDERS)
    if unknown:
        problems.append(f"{where}: unknown placeholder(s) {', '.join(sorted(unknown))}; use {', '.join(PLACEHOLDERS)}")
        return None
    required = required or REQUIRED_PLACEHOLDER.get(severity)
    if required and required not in names:
        problems.append(f"{where}: must say whom to call with {{{required}}}")
    if severity in ("urgent", None) and "emergency_number" in names:
        problems.append(f"{where}: {'an urgent reply' if severity else 'it'} must not carry the emergency number")
    return template.strip().format(**numbers)


def _parse_flag(raw: dict[str, Any], terms, numbers, today: dt.date, problems: list[str]) -> RedFlag | None:
    known = {"id", "severity", "title", "patterns", "reply", "sources", "reviewed"}
    for unknown in sorted(set(raw) - known):
        problems.append(f"field '{unknown}': unknown field (a typo?)")
    flag_id = raw.get("id")
    if not isinstance(flag_id, str) or not ID_PATTERN.match(flag_id):
        problems.append("field 'id': missing, or not lowercase letters, digits and underscores")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        problems.append(f"field 'severity': must be one of {', '.join(SEVERITIES)}")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append("field 'title': must be non-empty text")

    patterns = []
    raw_patterns = raw.get("patterns")
    if not isinstance(raw_patterns, list) or not raw_patterns:
        problems.append("field 'patterns': must list at least one pattern")
    else:
        for number, source in enumerate(raw_patterns, start=1):
            try:
                if not isinstance(source, str) or not source.strip():
                    raise ValueError("must be non-empty text")
                patterns.append(_parse_pattern(source.strip(), terms))
            except ValueError as error:
                problems.append(f"field 'patterns' #{number}: {error}")

    reply = None
    if severity in SEVERITIES:
        reply = _render(raw.get("reply"), numbers, "field 'reply'", problems, severity)
    sources = parse_sources(raw.get("sources"), problems)
    reviewed = parse_reviewed(raw.get("reviewed"), today, problems)
    if problems:
        return None
    return RedFlag(flag_id, severity, title.strip(), tuple(patterns), reply, sources, reviewed)
