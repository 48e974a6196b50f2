"""What the two red-flag detectors say together: warn, ask, or answer.

The lexicon (`pain_assistant.red_flags`) matches wordings written down; the classifier
(`pain_assistant.red_flag_classifier`) reads meaning. Recall can only go up from the lexicon's:
- the lexicon matched: warn if the classifier agrees enough to ask at least; otherwise (a match in
  an everyday story, "this pain is killing me") ask, so the number is still named;
- the lexicon is silent: warn if the classifier is sure, ask if it is unsure (sooner when it
  suspects a crisis flag: asking about suicide directly is what crisis services advise), else answer; a
  question about a dose, timing or stopping ("can I double my diazepam tonight") that the
  classifier is unsure of is answered (with the dose reply): it asks before doing, and medicine
  words alone make the classifier wary. One that is done is the lexicon's to catch.
Without a classifier (or when it failed) the lexicon decides alone, as before it existed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Sequence

from pain_assistant.dosing import find_dose
from pain_assistant.red_flag_classifier import Suspicion, Thresholds
from pain_assistant.redaction import redact
from pain_assistant.red_flags import Detection

Outcome = Literal["warn", "ask", "answer"]
# A warning quotes what raised it only if it is this short: a person should see the words at a
# glance, not their whole message back.
MAX_MENTION_WORDS = 12
# ...and only if it holds no amount: a reply never carries a dose or a schedule (safety rule 3),
# not even the person's own ("You wrote “took 30 of my baclofen”").
_AMOUNT = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|dozen|half|double|twice|triple|once)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Raised:
    """A flag raised, and where in the message (for the reply to name what raised it)."""

    flag_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    flags: tuple[Raised, ...] = ()  # most severe first; when asking, the one flag asked about


def decide(
    text: str,
    detections: Sequence[Detection],
    suspicion: Suspicion | None,
    thresholds: Thresholds | None,
    dose_question: bool = False,
) -> Verdict:
    lexicon = tuple(Raised(d.flag.id, d.start, d.end) for d in detections)
    if suspicion is None or thresholds is None:
        return Verdict("warn", lexicon) if lexicon else Verdict("answer")
    if lexicon:
        return Verdict("warn", lexicon) if suspicion.probability >= thresholds.ask else Verdict("ask", lexicon[:1])
    if suspicion.probability < thresholds.ask_for(suspicion.flag_id) or (
        dose_question and suspicion.probability < thresholds.warn
    ):
        return Verdict("answer")
    start = text.find(suspicion.piece)
    span = (start, start + len(suspicion.piece)) if start >= 0 else (0, len(text))
    raised = (Raised(suspicion.flag_id, *span),)
    return Verdict("warn" if suspicion.probability >= thresholds.warn else "ask", raised)


def mention(text: str, raised: Raised) -> str:
    """The words that raised a flag, to quote in the warning so a person sees why (and a false
    alarm is easier to forgive); "" when they are too many to quote or name an amount. Personal
    data in them becomes placeholders: the assistant's replies are stored as they are."""
    words = text[raised.start:raised.end].replace("“", "").replace("”", "").replace('"', "").split()
    if not words or len(words) > MAX_MENTION_WORDS or find_dose(" ".join(words)) or _AMOUNT.search(" ".join(words)):
        return ""
    return redact(" ".join(words)).rstrip(".,;:!?")
