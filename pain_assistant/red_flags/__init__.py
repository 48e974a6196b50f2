"""Find red flags (possible emergencies) in what someone writes, deterministically.

The flags, their patterns and replies live in `knowledge/red_flags.yml`, which editors change.
Detection does not depend on the intent classifier: the Rasa component in
`pain_assistant.rasa_components` runs it on every message, beside the learned classifier
(`pain_assistant.safety_verdict` combines the two). The lexicon is the precise floor: what it
matches, it should mean.

The package: `words` (tokens, sentences, when a pattern word matches a token), `matching`
(patterns, flags, the detector), `context` (what denies, closes, supposes or assigns a mention to
someone else), `loading` (reading and validating the file).

Pattern language (kept small so editors can read it):
- A pattern is one or more parts joined by ` + `. Every part must appear, in any order, each on
  words of its own, in one sentence (or two neighbouring sentences of at most SHORT_SENTENCE words:
  "Sudden weakness. Left arm and face.") and within WINDOW words of each other: "{leg} + {swollen}"
  matches "calf is swollen" and "swollen calf". A sentence ends at . ! ? ; a line break or a
  spaced dash. A part joined by ` ... ` instead may be anywhere in the message: a cause told
  apart from the symptom ("hip|limp* ... {steroid}": "I had steroids in March. Now my hip hurts").
- A part is one or more phrases joined by `|`; any one of them will do: "cant breathe|gasping".
- A phrase is words and terms in order, with at most GAP other words between neighbours:
  "cant breathe" also matches "cant really breathe". A word may end in `*` to match any word
  starting that way (`swell*`); a `{term}` is any of the words or phrases listed under the file's
  `terms`.
- A message is read as `pain_assistant.normalise` reads it: "k1ll", "ｄｒｏｏｐｉｎｇ", "<b>ki</b>ll",
  "k i l l" and a Cyrillic "і" inside a word are the words a person reads.
- Words are compared after lowercasing and dropping apostrophes ("can't" is "cant"). A pattern
  word in its base form matches every form of it (lemminflect's lemmas: "fall" is "fell",
  "falling", "falls"; "hurt myself" is "hurting myself"); an inflected one matches itself
  ("having a stroke" is not "had a stroke"). Words tolerate one typo in words of 5+ letters and
  two in words of 9+ ("swolen", "breathign"); a 4-letter word written without its vowel ("cnt",
  "lft"); a letter stretched into a double ("kiill", "arrm"); and a prefix's double letter written
  once before a vowel ("droping"). `=word` is that word only, stretched letters aside: no other
  form, no typo (`=worst` is not "worse", `=kill me` is not "killing me").

Context rules (the file's `context:`, in the style of ConText and medspaCy's `ConTextRule`): each
rule lists phrases of one category (negated, historical, hypothetical, other_person) that reach
`scope` words forward, backward or both, never past the sentence's end or a `terminate` word
("but", "now", "still"...), with `within_clause` never past a comma. Optional: `of` (the
mentions it may modify must begin with one of these), `unless` (one of these later in its clause
undoes it), `with` (one of these must come in the mention's sentence, no later than its clause).
For an emergency or urgent flag, a match does not count when any part is negated, or when no part
is free of historical and hypothetical; other_person still warns and is recorded on the
`Detection`. Crisis matches always count. See `context`.
"""

from __future__ import annotations

from pain_assistant.red_flags.context import CATEGORIES, DIRECTIONS, Context, ContextRule
from pain_assistant.red_flags.loading import (
    CHECKS, DEFAULT_RED_FLAGS_FILE, DEFAULT_REGIONS_FILE, PLACEHOLDERS, REQUIRED_PLACEHOLDER, load, load_region, parse,
    render_reply,
)
from pain_assistant.red_flags.matching import (
    SEVERITIES, SHORT_SENTENCE, WINDOW, Detection, Message, Pattern, RedFlag, RedFlagDetector,
)
from pain_assistant.red_flags.words import GAP, Token, Vocabulary, lemmas, tokenize, word_matches
