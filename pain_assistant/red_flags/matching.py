"""Patterns, flags, and the detector that finds them in a message."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from pain_assistant.normalise import normalise
from pain_assistant.red_flags.context import Context
from pain_assistant.red_flags.words import Part, Token, Vocabulary, match_phrase, tokenize
from pain_assistant.validation import Source

SEVERITIES = ("emergency", "crisis", "urgent")  # most severe first
# A pattern's parts are in one sentence, or in two neighbouring sentences of at most SHORT_SENTENCE
# words each ("Sudden weakness. Left arm and face."), and within WINDOW words of each other, which
# is what reads a long run of words without punctuation (voice typing) in windows.
SHORT_SENTENCE = 6
WINDOW = 24


@dataclass(frozen=True)
class Pattern:
    """Parts that must all match; those whose index is in `anywhere` (written after " ... ") may be
    anywhere in the message, the others together (`Message.together`)."""

    source: str
    parts: tuple[Part, ...]
    anywhere: frozenset[int] = frozenset()


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
class Detection:
    """A flag raised, and where: `start` and `end` index the normalised text, whose slice is
    `matched`, from the first matched word to the last (for text written normally that is the
    text as given); `context`, the context categories found on the match (for an emergency or
    urgent flag only `other_person` can be: the others stop it counting)."""

    flag: RedFlag
    start: int
    end: int
    matched: str
    context: frozenset[str] = frozenset()

    @property
    def about_someone_else(self) -> bool:
        """A carer's or relative's report ("her face is drooping"): it still warns."""
        return "other_person" in self.context


@dataclass(frozen=True)
class Mention:
    """Where one part of a pattern matched: its words, without the ones a phrase skipped."""

    tokens: tuple[int, ...]

    @property
    def first(self) -> int:
        return self.tokens[0]

    @property
    def last(self) -> int:
        return self.tokens[-1]


class Message:
    """A message read once for every pattern: its tokens, the pattern words each token matches,
    where each pattern word is, its context modifiers, and each part's mentions once found."""

    def __init__(self, text: str, tokens: list[Token], words_at: list[frozenset[str]], context: Context):
        self.text = text
        self.tokens = tokens
        self.words_at = words_at
        positions: dict[str, list[int]] = defaultdict(list)
        for at, words in enumerate(words_at):
            for word in words:
                positions[word].append(at)
        self.positions = dict(positions)
        self.sentence_sizes = Counter(token.sentence for token in tokens)
        self.modifiers = context.modifiers(tokens)
        self._mentions: dict[int, list[Mention]] = {}
        self._modified: dict[Mention, tuple[tuple[str, int, int], ...]] = {}

    def mentions(self, part: Part, by_opener: dict[str, tuple[int, ...]]) -> list[Mention]:
        """Every place one of the part's phrases matches: at each word, the first phrase that does.
        `by_opener` lists, for each first word of the part's phrases, which phrases start with it."""
        if id(part) in self._mentions:
            return self._mentions[id(part)]
        begins = sorted({at for word in by_opener for at in self.positions.get(word, ())})
        found = []
        for begin in begins:
            starting = sorted({order for word in self.words_at[begin] for order in by_opener.get(word, ())})
            for order in starting:
                tokens = match_phrase(part[order], self.words_at, begin)
                if tokens is not None:
                    found.append(Mention(tokens))
                    break
        self._mentions[id(part)] = found
        return found

    def modified(self, mention: Mention) -> tuple[tuple[str, int, int], ...]:
        """The context modifiers reaching a mention, as (category, first and last token of the
        modifier); found only for mentions of a whole match, since most mentions are of none."""
        if mention not in self._modified:
            self._modified[mention] = tuple(
                (modifier.rule.category, modifier.first, modifier.last)
                for modifier in self.modifiers
                if modifier.modifies(mention.first, mention.last, self.words_at, self.tokens)
            )
        return self._modified[mention]

    @staticmethod
    def apart(mentions: tuple[Mention, ...]) -> bool:
        """Whether no two mentions share a word: each part of a match has its own."""
        words = [at for mention in mentions for at in mention.tokens]
        return len(set(words)) == len(words)

    def together(self, mentions: tuple[Mention, ...]) -> bool:
        """Whether mentions are close enough to be one match: within WINDOW words, and in one
        sentence or two neighbouring short ones."""
        words = [at for mention in mentions for at in mention.tokens]
        if max(words) - min(words) > WINDOW:
            return False
        sentences = {self.tokens[at].sentence for at in words}
        return len(sentences) == 1 or (
            len(sentences) == 2 and max(sentences) - min(sentences) == 1
            and all(self.sentence_sizes[s] <= SHORT_SENTENCE for s in sentences)
        )

    def categories(self, mentions: tuple[Mention, ...]) -> list[set[str]]:
        """Each mention's context categories, leaving out modifiers that lie inside one part of the
        match ("could not" of "{cant} + breathe" does not deny the breathing)."""
        parts = [set(mention.tokens) for mention in mentions]
        return [
            {
                category for category, first, last in self.modified(mention)
                if not any(set(range(first, last + 1)) <= part for part in parts)
            }
            for mention in mentions
        ]


class RedFlagDetector:
    """All flags of the file; `detect` returns what a message raises, most severe first."""

    def __init__(
        self, flags: Iterable[RedFlag], context: Context = Context(), checks: dict[str, str] | None = None,
    ):
        self.flags = list(flags)
        self.checks = checks or {}
        self.context = context
        # For each part, which of its phrases start with each pattern word: a part can only match
        # where one of these words is.
        self._by_opener: dict[int, dict[str, tuple[int, ...]]] = {}
        for flag in self.flags:
            for pattern in flag.patterns:
                for part in pattern.parts:
                    by_opener: dict[str, list[int]] = defaultdict(list)
                    for order, phrase in enumerate(part):
                        for word in phrase[0].first_words:
                            by_opener[word].append(order)
                    self._by_opener[id(part)] = {word: tuple(orders) for word, orders in by_opener.items()}
        every_word = {
            word for flag in self.flags for pattern in flag.patterns for part in pattern.parts
            for phrase in part for slot in phrase for words in slot.sequences for word in words
        } | {word for rule in context.rules for phrase in rule.of for slot in phrase for words in slot.sequences for word in words}
        self.vocabulary = _vocabulary(frozenset(every_word))

    def read(self, text: str) -> Message:
        """The message as the patterns see it: normalised, tokenized, each token's pattern words."""
        text = normalise(text)
        tokens = tokenize(text)
        return Message(text, tokens, [self.vocabulary.matching(token.text) for token in tokens], self.context)

    def detect(self, text: str) -> list[Detection]:
        message = self.read(text)
        # A part can only match where one of its phrases' first words does, so a pattern with a
        # part whose first words match no word of the message is skipped without searching.
        present = message.positions.keys()
        found = []
        for flag in self.flags:
            for pattern in flag.patterns:
                if any(present.isdisjoint(self._by_opener[id(part)]) for part in pattern.parts):
                    continue
                detection = self.find(flag, pattern, message)
                if detection is not None:
                    found.append(detection)
                    break
        return sorted(found, key=lambda d: d.flag.rank)

    def find(self, flag: RedFlag, pattern: Pattern, message: Message) -> Detection | None:
        """The first match of one of the flag's patterns that counts in its context, if any."""
        options = []
        for part in pattern.parts:
            mentions = message.mentions(part, self._by_opener[id(part)])
            if not mentions:
                return None
            options.append(mentions)
        match = _combine(options, (), message, flag.severity, pattern.anywhere)
        if match is None:
            return None
        mentions, categories = match
        start = message.tokens[min(m.first for m in mentions)].start
        end = message.tokens[max(m.last for m in mentions)].end
        return Detection(flag, start, end, message.text[start:end], frozenset().union(*categories))

    def get(self, flag_id: str) -> RedFlag | None:
        return next((flag for flag in self.flags if flag.id == flag_id), None)


def _combine(
    options: list[list[Mention]], chosen: tuple[Mention, ...], message: Message, severity: str, anywhere: frozenset[int],
) -> tuple[tuple[Mention, ...], list[set[str]]] | None:
    """One mention per part, no two sharing a word, those not `anywhere` together
    (`Message.together`), whose context lets the match count."""
    if len(chosen) == len(options):
        categories = message.categories(chosen)
        return (chosen, categories) if Context.counts(severity, categories) else None
    index = len(chosen)
    for mention in options[index]:
        candidate = (*chosen, mention)
        bound = tuple(m for at, m in enumerate(candidate) if at not in anywhere)
        if message.apart(candidate) and (index in anywhere or message.together(bound)):
            match = _combine(options, candidate, message, severity, anywhere)
            if match is not None:
                return match
    return None


@lru_cache(maxsize=4)
def _vocabulary(words: frozenset[str]) -> Vocabulary:
    """Built once per set of pattern words: every load of the same file shares it."""
    return Vocabulary(words)
