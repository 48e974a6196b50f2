"""Context: what says a mention is denied, over, supposed, or about someone else.

In the style of ConText (Chapman et al.; medspaCy's `ConTextRule`): the file's `context:` rules
each list phrases (modifiers) of one category that reach, in one direction, over up to `scope`
words, and never past the end of the sentence or a terminating word ("but", "now"...). A part of
a pattern's match is modified when its nearest word is in a modifier's reach (or shares a word
with it) and the rule's own conditions hold (`of`, `unless`, `with`); a modifier lying inside one
part of the match is that part's words, not a modifier ("no feeling in my legs": "no" is the
symptom, not a denial). What the categories do is `Context.counts`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pain_assistant.red_flags.words import Part, Token, match_phrase

CATEGORIES = ("negated", "historical", "hypothetical", "other_person")
DIRECTIONS = ("forward", "backward", "bidirectional")

Words = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ContextRule:
    """Modifiers of one category. `of`: a mention it modifies must begin with one of these (for
    denials: symptoms and treatments, never a loss of function); `unless`: one of these later in
    the modifier's clause undoes it ("never had chest pain like this" is new, not absent); `with`:
    one of these must come in the mention's sentence, in its clause or one before (something over
    is over only if long ago); `within_clause`: the reach stops at a comma as well."""

    category: str
    direction: str
    scope: int
    phrases: Words
    within_clause: bool = False
    of: Part = ()
    unless: Words = ()
    with_phrases: Words = ()


@dataclass(frozen=True)
class Modifier:
    """A rule's phrase found in a message: its tokens, and the tokens it reaches."""

    rule: ContextRule
    first: int
    last: int
    reach: tuple[int, int]  # first and last token index reached; empty when first > last

    def modifies(self, first: int, last: int, words_at: list[frozenset[str]], tokens: list[Token]) -> bool:
        """Whether it modifies the mention at tokens first..last: in its reach, or sharing a word with it
        ("what are the signs" of "stroke + signs"; see `Message.categories` for one inside a part)."""
        low, high = self.reach
        nearest = (first,) if self.rule.direction == "forward" else (last,) if self.rule.direction == "backward" else (first, last)
        return (
            (any(low <= at <= high for at in nearest) or (first <= self.last and self.first <= last))
            and (not self.rule.of or any(match_phrase(phrase, words_at, first) for phrase in self.rule.of))
            and (not self.rule.with_phrases or _said_by_then(self.rule.with_phrases, tokens, last))
        )


def _said_by_then(phrases: Words, tokens: list[Token], last: int) -> bool:
    """Whether one of the phrases comes in the sentence of tokens[last], no later than its clause:
    the time is set before or with the mention ("my leg was swollen last summer, it was cellulitis"),
    not in a clause after it ("swollen calf, the clot I had years ago cleared up")."""
    sentence, clause = tokens[last].sentence, tokens[last].clause
    return any(
        _starts_with(tokens, at, phrase)
        for at in range(len(tokens)) if tokens[at].sentence == sentence and tokens[at].clause <= clause
        for phrase in phrases
    )


def _starts_with(tokens: list[Token], at: int, words: tuple[str, ...]) -> bool:
    return at + len(words) <= len(tokens) and all(tokens[at + k].text == word for k, word in enumerate(words))


class Context:
    """The file's context rules, and the words that end every rule's reach."""

    def __init__(self, rules: tuple[ContextRule, ...] = (), terminate: Words = ()):
        self.rules = rules
        self.terminate = terminate
        # Every phrase by its words, and the lengths of the phrases each word starts: finding the
        # modifiers is a few look-ups per token.
        self._rules_of: dict[tuple[str, ...], list[ContextRule | None]] = defaultdict(list)
        for rule in rules:
            for phrase in rule.phrases:
                self._rules_of[phrase].append(rule)
        for phrase in terminate:
            self._rules_of[phrase].append(None)
        lengths: dict[str, set[int]] = defaultdict(set)
        for phrase in self._rules_of:
            lengths[phrase[0]].add(len(phrase))
        self._lengths = {word: sorted(sizes) for word, sizes in lengths.items()}

    def modifiers(self, tokens: list[Token]) -> list[Modifier]:
        """Every modifier in the message, with its reach; those an `unless` phrase undoes left out."""
        texts = [token.text for token in tokens]
        found: list[tuple[ContextRule, int, int]] = []
        terminators: set[int] = set()
        for at, text in enumerate(texts):
            for size in self._lengths.get(text, ()):
                if at + size > len(texts):
                    break
                for rule in self._rules_of.get(tuple(texts[at:at + size]), ()):
                    if rule is None:
                        terminators.update(range(at, at + size))
                    else:
                        found.append((rule, at, at + size - 1))
        return [
            Modifier(rule, first, last, _reach(rule, first, last, tokens, terminators))
            for rule, first, last in found
            if not _undone(rule, last, tokens)
        ]

    @staticmethod
    def counts(severity: str, categories_of_parts: list[set[str]]) -> bool:
        """Whether a match whose parts carry these categories raises its flag: a crisis always does
        (someone who says they are not suicidal may still need the line); an emergency or urgent
        one when no part is denied and at least one part is neither over nor supposed."""
        if severity == "crisis":
            return True
        return not any("negated" in categories for categories in categories_of_parts) and any(
            not categories & {"historical", "hypothetical"} for categories in categories_of_parts
        )


def _undone(rule: ContextRule, last: int, tokens: list[Token]) -> bool:
    """Whether an `unless` phrase comes after the modifier in its clause."""
    clause = tokens[last].clause
    at = last + 1
    while at < len(tokens) and tokens[at].clause == clause:
        if any(_starts_with(tokens, at, phrase) for phrase in rule.unless):
            return True
        at += 1
    return False


def _reach(rule: ContextRule, first: int, last: int, tokens: list[Token], terminators: set[int]) -> tuple[int, int]:
    """The tokens a modifier reaches: up to `scope` words each way its direction allows, stopping
    at the sentence's end, a terminating word, and with `within_clause` a punctuation mark."""

    def stretch(at: int, step: int) -> int:
        reached = at
        for _ in range(rule.scope):
            nxt = reached + step
            if not 0 <= nxt < len(tokens) or nxt in terminators or tokens[nxt].sentence != tokens[at].sentence:
                break
            if rule.within_clause and tokens[nxt].clause != tokens[at].clause:
                break
            reached = nxt
        return reached

    low = stretch(first, -1) if rule.direction != "forward" else first
    high = stretch(last, +1) if rule.direction != "backward" else last
    # The modifier's own tokens are not in its reach.
    if rule.direction == "forward":
        return last + 1, high
    if rule.direction == "backward":
        return low, first - 1
    return low, high
