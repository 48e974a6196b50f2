"""The learned red-flag detector: a message's meaning, not its words, says how likely it holds a
red flag, and which one.

The lexicon (`pain_assistant.red_flags`) catches the wordings someone wrote down, precisely. This
catches their kind, over the sentence encoder's vectors (`pain_assistant.encoder`), trained on the
project's collected red-flag wordings and on ordinary messages (`pain_assistant.red_flag_examples`,
the NLU examples), in two parts:
- whether: a support-vector machine (RBF kernel) scores "red flag or not"; its score becomes a
  chance by Platt scaling fitted on cross-validated scores. In cross-validation on the training
  sets it caught 0.984 of red flags at 5% of ordinary messages over the line, where a logistic
  regression caught 0.91 and a small neural network 0.95;
- which: a logistic regression over the flag ids, trained on red-flag messages only.
The thresholds come from the same cross-validation: `ask` lets through a set share of ordinary
messages (`ASK_RATE`), or a larger one when the likeliest flag is a crisis one (`CRISIS_ASK_RATE`),
`warn` far fewer (`WARN_RATE`).

A red flag is often one sentence of a long story, so a message is judged whole and sentence by
sentence (`pieces`), and the most worrying piece speaks for it: the judgement names the piece, so
a reply can say what raised it. Ordinary messages train as wholes and as pieces (no piece of an
ordinary message is a red flag); red-flag messages train as wholes only, because which of their
sentences holds the flag is not written down.

Stored as plain arrays (numpy `.npz`, no pickle), so loading a model runs no code from it.
Nothing here reads the never-used sets (`tests/safety_frozen/`, `tests/safety_blind/`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

NONE = "none"
ASK_RATE = 0.04  # of ordinary messages (cross-validated) that get a check question
# ...when the likeliest flag is a crisis one: asking directly about suicide is what crisis services
# recommend, and the learned detector misses the most there. Cross-validated on the training sets
# (2026-12-03): suicidal messages under the line 72 -> 44; plain questions (the NLU examples) over
# it 2.1% -> 2.8%, long everyday stories 7.5% -> 10.9%.
CRISIS_ASK_RATE = 0.08
WARN_RATE = 0.005  # of ordinary messages (cross-validated) that get a warning outright
SVM_C = 8.0  # 2-32 measured the same in cross-validation
FOLDS = 5
# A run of words without sentence punctuation longer than this is read in overlapping windows:
# people on phones write whole stories without a full stop.
WINDOW_WORDS = 24
WINDOW_STEP = 12
MAX_PIECES = 24  # bounded work per message (the input guard already caps the length)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\s*\n+\s*|\s+(?:-{1,2}|–|—)\s+")
_WORD = re.compile(r"\S+")

Encode = Callable[[Sequence[str]], np.ndarray]


def pieces(text: str) -> list[str]:
    """The sentences of a message (long unpunctuated runs as overlapping windows of words), without
    the message itself; empty for a message of one short sentence."""
    found: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        words = _WORD.findall(sentence)
        if not words:
            continue
        if len(words) <= WINDOW_WORDS + WINDOW_STEP // 2:
            found.append(" ".join(words))
            continue
        for start in range(0, len(words) - WINDOW_STEP, WINDOW_STEP):
            found.append(" ".join(words[start:start + WINDOW_WORDS]))
    if len(found) <= 1:
        return []
    return found[:MAX_PIECES]


def readings(text: str) -> list[str]:
    """What the classifier judges of a message: the whole text, then its pieces."""
    return [text] + pieces(text)


@dataclass(frozen=True)
class Suspicion:
    """What the classifier thinks of one message: the likeliest flag, the chance that it holds a red
    flag, and the piece of text that made that chance highest."""

    flag_id: str
    probability: float
    piece: str


@dataclass(frozen=True)
class Thresholds:
    """Chances of a red flag: from `warn` up a warning outright, from `ask` up a check question;
    from `ask_crisis` up a check question when the likeliest flag is one of `crisis_flags`."""

    ask: float
    warn: float
    ask_crisis: float | None = None
    crisis_flags: tuple[str, ...] = ()

    def ask_for(self, flag_id: str) -> float:
        """The chance from which a message whose likeliest flag is `flag_id` gets a check question."""
        if flag_id in self.crisis_flags and self.ask_crisis is not None:
            return min(self.ask, self.ask_crisis)
        return self.ask


@dataclass(frozen=True)
class Whether:
    """An RBF support-vector machine as plain arrays, with Platt scaling: chance = 1 / (1 + e^-(a*s + b))."""

    support: np.ndarray
    dual: np.ndarray
    intercept: float
    gamma: float
    platt: tuple[float, float]

    @cached_property
    def _support_norms(self) -> np.ndarray:
        return (self.support * self.support).sum(1)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        distances = (vectors * vectors).sum(1)[:, None] + self._support_norms[None, :]
        distances -= 2.0 * vectors @ self.support.T
        return np.exp(-self.gamma * np.maximum(distances, 0.0)) @ self.dual + self.intercept

    def chances(self, vectors: np.ndarray) -> np.ndarray:
        a, b = self.platt
        return 1.0 / (1.0 + np.exp(-(a * self.scores(vectors) + b)))


@dataclass(frozen=True)
class Which:
    """A multinomial logistic regression over the flag ids, as plain arrays."""

    flags: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray

    def likeliest(self, vector: np.ndarray) -> str:
        return self.flags[int(np.argmax(self.weights @ vector + self.bias))]


class RedFlagClassifier:
    def __init__(self, whether: Whether, which: Which, thresholds: Thresholds) -> None:
        self.whether = whether
        self.which = which
        self.thresholds = thresholds

    def judge(self, text: str, vectors: np.ndarray | None, encode: Encode) -> Suspicion:
        """The most worrying of `text`'s readings (whole, then piece by piece): `vectors` are
        theirs if the pipeline already has them, else they are encoded here, in one batch."""
        texts = readings(text)
        if vectors is None or len(vectors) != len(texts):
            vectors = encode(texts)
        chances = self.whether.chances(vectors)
        worst = int(np.argmax(chances))
        return Suspicion(self.which.likeliest(vectors[worst]), float(chances[worst]), texts[worst])

    def save(self, path: Path) -> None:
        np.savez(
            path,
            support=self.whether.support,
            dual=self.whether.dual,
            svm=np.array([self.whether.intercept, self.whether.gamma, *self.whether.platt], np.float64),
            flags=np.array(self.which.flags),
            weights=self.which.weights,
            bias=self.which.bias,
            thresholds=np.array([self.thresholds.ask, self.thresholds.warn, self.thresholds.ask_crisis or np.nan], np.float64),
            crisis_flags=np.array(self.thresholds.crisis_flags, dtype=str),
        )

    @classmethod
    def load(cls, path: Path) -> RedFlagClassifier:
        with np.load(path, allow_pickle=False) as stored:
            intercept, gamma, a, b = (float(x) for x in stored["svm"])
            whether = Whether(stored["support"], stored["dual"], intercept, gamma, (a, b))
            which = Which(tuple(str(f) for f in stored["flags"]), stored["weights"], stored["bias"])
            ask, warn, *crisis = (float(x) for x in stored["thresholds"])
            ask_crisis = crisis[0] if crisis and not np.isnan(crisis[0]) else None
            crisis_flags = tuple(str(f) for f in stored["crisis_flags"]) if "crisis_flags" in stored else ()
            return cls(whether, which, Thresholds(ask, warn, ask_crisis, crisis_flags))


@dataclass(frozen=True)
class Examples:
    """Training texts: red-flag messages with their flag ids, and ordinary messages."""

    positives: list[tuple[str, str]]
    ordinary: list[str]


@dataclass(frozen=True)
class Training:
    """What a trained classifier measured on itself: cross-validated chances per message."""

    classifier: RedFlagClassifier
    positive_chances: np.ndarray
    ordinary_chances: np.ndarray


def _fit_whether(vectors: np.ndarray, is_red: np.ndarray):
    from sklearn.svm import SVC

    return SVC(C=SVM_C, kernel="rbf", gamma="scale", class_weight="balanced").fit(vectors, is_red)


def _platt(scores: np.ndarray, is_red: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000).fit(scores[:, None], is_red)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def train(examples: Examples, encode: Encode, crisis_flags: Iterable[str] = ()) -> Training:
    """Fit both parts; cross-validate by message (a message and its pieces stay on one side) for
    the Platt scaling and the thresholds (`crisis_flags`: the flags asked about from
    `CRISIS_ASK_RATE`)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    messages = [text for _, text in examples.positives] + examples.ordinary
    is_red_message = np.array([True] * len(examples.positives) + [False] * len(examples.ordinary))
    # Rows to learn from: every message whole; ordinary messages' pieces too (none is a red flag).
    rows = [(m, m) for m in messages] + [(m, p) for m in examples.ordinary for p in pieces(m)]
    index = {m: i for i, m in enumerate(messages)}
    row_message = np.array([index[m] for m, _ in rows])
    judged = {m: readings(m) for m in messages}
    texts = sorted({t for m in messages for t in judged[m]})  # every row's text is among these
    vectors = encode(texts)
    position = {t: i for i, t in enumerate(texts)}
    row_vectors = vectors[[position[p] for _, p in rows]]
    row_red = is_red_message[row_message]

    row_scores = np.zeros(len(rows))
    message_scores = np.zeros(len(messages))
    for train_rows, held_rows in GroupKFold(FOLDS).split(row_vectors, row_red, row_message):
        svm = _fit_whether(row_vectors[train_rows], row_red[train_rows])
        row_scores[held_rows] = svm.decision_function(row_vectors[held_rows])
        for m in set(row_message[held_rows].tolist()):
            message_scores[m] = svm.decision_function(vectors[[position[t] for t in judged[messages[m]]]]).max()
    a, b = _platt(row_scores, row_red)
    chances = 1.0 / (1.0 + np.exp(-(a * message_scores + b)))
    positive_chances, ordinary_chances = chances[is_red_message], chances[~is_red_message]
    thresholds = Thresholds(
        ask=float(np.quantile(ordinary_chances, 1.0 - ASK_RATE)),
        warn=float(np.quantile(ordinary_chances, 1.0 - WARN_RATE)),
        ask_crisis=float(np.quantile(ordinary_chances, 1.0 - CRISIS_ASK_RATE)),
        crisis_flags=tuple(sorted(crisis_flags)),
    )

    svm = _fit_whether(row_vectors, row_red)
    whether = Whether(
        svm.support_vectors_.astype(np.float32), svm.dual_coef_[0].astype(np.float32),
        float(svm.intercept_[0]), float(svm._gamma), (a, b),
    )
    flags = LogisticRegression(C=16.0, max_iter=2000, class_weight="balanced", random_state=1)
    flags.fit(vectors[[position[text] for _, text in examples.positives]], [flag for flag, _ in examples.positives])
    which = Which(tuple(str(c) for c in flags.classes_), flags.coef_.astype(np.float32), flags.intercept_.astype(np.float32))
    return Training(RedFlagClassifier(whether, which, thresholds), positive_chances, ordinary_chances)


def collect(extra_ordinary: Iterable[str], normalise: Callable[[str], str]) -> Examples:
    """Every collected example (`red_flag_examples.all_sets()`) plus `extra_ordinary` (the NLU's
    examples), normalised as the pipeline normalises messages, each text once. Borderline ordinary
    messages are left out: a check question is what they need, so they teach neither side."""
    from pain_assistant.red_flag_examples import all_sets, load_set

    positives: dict[str, str] = {}
    ordinary: dict[str, None] = {}
    for name in all_sets():
        found, calm = load_set(name)
        for flag, text in found:
            positives.setdefault(normalise(text), flag)
        ordinary.update((normalise(text), None) for text, borderline in calm if not borderline)
    ordinary.update((normalise(text), None) for text in extra_ordinary)
    return Examples(
        [(flag, text) for text, flag in positives.items()],
        [text for text in ordinary if text not in positives],
    )
