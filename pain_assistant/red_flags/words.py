"""Words: a message's tokens, sentences and clauses, and when a pattern word matches a token.

`word_matches` is the rule, one pair at a time; `Vocabulary` answers the same question for every
pattern word at once (which of them a token matches), from indexes built once per file, which is
what makes `detect` fast. A test checks the two agree.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from itertools import combinations
from typing import Iterable, NamedTuple

import lemminflect

# A phrase's neighbouring words may have this many other words between them ("cant really breathe").
GAP = 1

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
# What ends a sentence: . ! ? ; … (not a decimal point, and not the full stop of a one-letter
# abbreviation like "e.g." or of dr, mr, mrs), a line break, a dash with spaces round it, and
# "full stop" said to a voice keyboard.
_SENTENCE_END = re.compile(r"(?<!\b[a-z])(?<!\bdr)(?<!\bmr)(?<!\bmrs)\.+(?![0-9])|[!?;…]+|\n|\s[-–—]+\s|\bfull stop\b")


class Token(NamedTuple):
    text: str
    start: int
    end: int
    after_space: bool  # only spaces since the previous word: no comma, full stop or dash between
    sentence: int  # which sentence of the message it is in, from 0
    clause: int  # which stretch between punctuation marks it is in, from 0


def tokenize(text: str) -> list[Token]:
    """Lowercase words with their character offsets, sentences and clauses; apostrophes dropped
    ("can't" -> "cant")."""
    lowered = text.lower().replace("’", "'").replace("‘", "'")
    ends = iter(m.end() for m in _SENTENCE_END.finditer(lowered))
    next_end = next(ends, len(lowered))
    tokens: list[Token] = []
    sentence = clause = 0
    previous_end = None
    for m in _TOKEN.finditer(lowered):
        after_space = previous_end is not None and lowered[previous_end:m.start()].isspace()
        new_sentence = next_end <= m.start()
        while next_end <= m.start():
            next_end = next(ends, len(lowered))
        if previous_end is not None and (new_sentence or not after_space):
            sentence += new_sentence
            clause += 1
        tokens.append(Token(m.group(0).replace("'", ""), m.start(), m.end(), after_space, sentence, clause))
        previous_end = m.end()
    return tokens


# ---------------------------------------------------------------- one pattern word, one token


@lru_cache(maxsize=65536)
def lemmas(word: str) -> frozenset[str]:
    """The word and its dictionary lemmas (lemminflect): "fell" -> fell, fall; "hurting" -> hurting,
    hurt. A form that is another word altogether is left out: a verb's or noun's lemma must start
    with the word's letter ("went" is not "go", "was" not "be"), an adjective's or adverb's with its
    first three ("weaker" is "weak", but "worse" is not "bad" or "wrong", "better" not "good")."""
    found = {word}
    for pos, forms in lemminflect.getAllLemmas(word).items():
        same_start = 3 if pos in ("ADJ", "ADV") else 1
        found.update(form for form in forms if form[:same_start] == word[:same_start])
    return frozenset(found)


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
    """`=word`: exactly that word, also with a letter the token holds twice held once. `word*`: a token starting that way, or, as below, with a letter the token
    holds twice held once ("kiill"), the prefix's doubled letter written once ("droping"), or a
    4-letter prefix without its vowel. A plain word: a token it is a lemma of, so a base form
    matches every form ("fall": fell, falling, falls; "hurt": hurting) and an inflected one itself
    ("fallen" is not "fell"), also with a doubled letter held once; or within the typo allowance
    (adjacent swaps count as one). A typo on top of a lemma or a doubled letter would make other
    words of real ones ("wedding" "weeing", "really" "ready")."""
    if pattern_word.startswith("="):
        return pattern_word[1:] in _spellings(token)
    if pattern_word.endswith("*"):
        stem = pattern_word[:-1]
        return (
            any(spelling.startswith(stem) for spelling in _spellings(token))
            or _single_for_double(stem, token) or _vowel_dropped(stem, token)
        )
    return any(pattern_word in lemmas(spelling) for spelling in _spellings(token)) or _within_typos(pattern_word, token)


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


def _skeletons(word: str) -> set[str]:
    """A 4-letter word with one vowel left out, leaving none: how textspeak writes it ("cnt", "lft")."""
    if len(word) != 4:
        return set()
    return {
        skeleton for at, char in enumerate(word)
        if char in _VOWELS and _VOWELS.isdisjoint(skeleton := word[:at] + word[at + 1:])
    }


def _vowel_dropped(pattern_word: str, token: str) -> bool:
    """Textspeak for a 4-letter word or prefix: one vowel left out, leaving none ("cnt", "lft", "wnt").
    A token with a vowel left is too often another word ("had" for "head", "dad" for "dead")."""
    return len(token) == 3 and token in _skeletons(pattern_word)


def _singles(stem: str) -> set[str]:
    """The stem with one of its doubled letters written once ("drop" of "droop")."""
    return {stem[:at] + stem[at + 1:] for at in range(1, len(stem)) if stem[at] == stem[at - 1]}


def _single_for_double(stem: str, token: str) -> bool:
    """A prefix's doubled letter written once before a vowel ("droping" for `droop*`): English
    would double the consonant after a short vowel ("dropping"), so this is a misspelling, not
    another word ("drops", "dropped" do not count)."""
    return any(
        token.startswith(single) and len(token) > len(single) and token[len(single)] in _VOWELS
        for single in _singles(stem)
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


def _deletions(word: str, most: int) -> set[str]:
    """The word with up to `most` letters deleted: two words within `most` edits share one."""
    found, frontier = {word}, {word}
    for _ in range(most):
        frontier = {w[:at] + w[at + 1:] for w in frontier for at in range(len(w))}
        found |= frontier
    return found


# ---------------------------------------------------------------- every pattern word, one token


class Vocabulary:
    """Which of a file's pattern words a token matches, by `word_matches`, looked up in indexes
    instead of tried one by one: by lemma, by exact text, by prefix, by the letters a typo leaves
    (the words with one or two letters deleted), by textspeak skeleton. Cached per token."""

    _MOST_TYPOS = 2

    def __init__(self, pattern_words: Iterable[str]):
        self.words = frozenset(pattern_words)
        self._longest = max(map(len, self.words), default=0)
        self._by_key: dict[str, set[str]] = defaultdict(set)  # a plain word, or =word -> the words
        self._by_stem: dict[str, set[str]] = defaultdict(set)  # prefix (and its singled form) -> words
        self._by_deletion: dict[str, set[str]] = defaultdict(set)
        self._by_skeleton: dict[str, set[str]] = defaultdict(set)
        for word in self.words:
            if word.startswith("="):
                self._by_key["=" + word[1:]].add(word)
            elif word.endswith("*"):
                stem = word[:-1]
                self._by_stem[stem].add(word)
                for single in _singles(stem):
                    self._by_stem["~" + single].add(word)
                for skeleton in _skeletons(stem):
                    self._by_skeleton[skeleton].add(word)
            else:
                self._by_key[word].add(word)
                for deleted in _deletions(word, _typos_allowed(word)):
                    self._by_deletion[deleted].add(word)
                for skeleton in _skeletons(word):
                    self._by_skeleton[skeleton].add(word)
        self.matching = lru_cache(maxsize=65536)(self._matching)

    def _matching(self, token: str) -> frozenset[str]:
        found: set[str] = set()
        for spelling in _spellings(token):
            found |= self._by_key.get("=" + spelling, set())
            for key in lemmas(spelling):
                found |= self._by_key.get(key, set())
            for end in range(1, len(spelling) + 1):
                found |= self._by_stem.get(spelling[:end], set())
        for end in range(1, len(token)):
            if token[end] in _VOWELS:
                found |= self._by_stem.get("~" + token[:end], set())
        if len(token) == 3:
            found |= self._by_skeleton.get(token, set())
        if len(token) > self._longest + self._MOST_TYPOS:
            return frozenset(found)
        for deleted in _deletions(token, self._MOST_TYPOS):
            found |= {word for word in self._by_deletion.get(deleted, ()) if word not in found and _within_typos(word, token)}
        return frozenset(found)


# ---------------------------------------------------------------- phrases


class Slot:
    """One place in a phrase, matched by any one of its word sequences: a plain word is a slot of one
    one-word sequence, a {term} a slot of the term's phrases (one Slot per term, shared by every
    pattern using it). Indexed by first word, since a term may hold a hundred phrases."""

    def __init__(self, sequences: Iterable[tuple[str, ...]]):
        self.sequences = tuple(sequences)
        by_first: dict[str, list[int]] = defaultdict(list)
        for order, words in enumerate(self.sequences):
            by_first[words[0]].append(order)
        self._by_first = dict(by_first)
        self.first_words = frozenset(self._by_first)
        # Most slots are one plain word: matched by one look-up.
        self._word = self.sequences[0][0] if len(self.sequences) == 1 and len(self.sequences[0]) == 1 else None

    def match(self, words_at: list[frozenset[str]], at: int) -> tuple[int, ...] | None:
        """The token indexes of the first of the slot's word sequences found at `at`."""
        if at >= len(words_at):
            return None
        if self._word is not None:
            return (at,) if self._word in words_at[at] else None
        candidates = sorted(order for word in self.first_words & words_at[at] for order in self._by_first[word])
        for order in candidates:
            words = self.sequences[order]
            if at + len(words) <= len(words_at) and all(word in words_at[at + k] for k, word in enumerate(words)):
                return tuple(range(at, at + len(words)))
        return None


Phrase = tuple[Slot, ...]
Part = tuple[Phrase, ...]


def match_phrase(phrase: Phrase, words_at: list[frozenset[str]], begin: int) -> tuple[int, ...] | None:
    """The indexes of the tokens the phrase matches starting at `begin` (without the up to GAP words
    it may skip between its words), or None; `words_at[i]` holds the pattern words token i matches."""
    matched = phrase[0].match(words_at, begin)
    for slot in phrase[1:]:
        if matched is None:
            return None
        after = matched[-1] + 1
        more = next((found for skip in range(GAP + 1) if (found := slot.match(words_at, after + skip)) is not None), None)
        matched = None if more is None else matched + more
    return matched
