"""Text the way its writer meant it to read, before anything tries to understand it.

A person in crisis may write "k1ll myself" or "ｄｒｏｏｐｉｎｇ" (a phone keyboard, a habit, or hiding the
words from a filter), and a page may send "<b>ki</b>ll" or "&#107;ill". A word matcher reads none
of these as the word a person reads, so the red-flag detector and the NLU read `normalise(text)`
instead; the stored text stays as typed. In order:

1. Unicode compatibility forms folded (NFKC: fullwidth letters, math letters, ligatures), and
   format characters (zero-width spaces and joiners, soft hyphens, direction marks) removed.
2. HTML entities decoded ("&#107;", "&amp;") and tags removed: an inline tag (<b>, <span>...) joins
   what is either side of it ("<b>ki</b>ll" is "kill"), any other (<p>, <br>) is a space.
3. Combining marks removed, so accents fold ("kíll" is "kill").
4. Cyrillic and Greek letters that look like Latin ones read as the Latin letter they look like,
   by shape, not by sound (Cyrillic "р" is "p", as a reader sees it, not "r"), in a word made only
   of Latin letters, digits and such look-alikes ("kіll", "кіӏӏ", and so also Russian "как"); a
   word with any other Cyrillic or Greek letter is written in that script and stays ("привет").
5. Leetspeak digits read as letters in a word that has digits between letters ("k1ll", "su1c1de",
   "dr00p1ng", "0v3rd0s3"); digits only at the ends of a word are numbers ("10mg", "b12", "3am",
   "2nd", "covid19").
6. Three or more single letters spaced, dotted or dashed out, all by the same separator, joined
   ("k i l l", "k.i.l.l", "k-i-l-l" are "kill"; "I am a" and "e.g. i.e." stay). Two spaces end a
   run, so "k i l l  m y s e l f" is "kill  myself".
7. A letter repeated three or more times kept twice ("killlll" is "kill", "sooo" is "soo").

Text written normally comes out as it went in: case, apostrophes, punctuation, numbers and doses.
Every step is one pass of a regular expression or a table without nested repetition, so the
time is linear in the length (1 MB in well under a second). The steps repeat until the text
stops changing, at most `_ROUNDS` times, which makes the function idempotent for everything but
encodings nested deeper than that ("&amp;amp;amp;lt;").
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from functools import lru_cache

_ROUNDS = 3

_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]{0,15})(?:\s[^<>]{0,200})?/?>")
# Inline elements sit inside words ("<b>ki</b>ll"); the others (p, br, div, li...) separate them.
_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo cite code data dfn em font i ins kbd mark q s samp small span strike strong sub sup "
    "time tt u var wbr".split()
)

# Look-alikes by shape (Unicode's confusables for the letters a matcher reads), lowercase and
# uppercase. Transliteration by sound (anyascii, unidecode) would turn "р" into "r" and
# "кіll" into "kill" only by luck.
_LOOK_ALIKES = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "һ": "h", "н": "h", "і": "i", "ј": "j", "к": "k",
    "ӏ": "l", "Ӏ": "l", "м": "m", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y", "ԝ": "w",
    "х": "x", "А": "A", "В": "B", "С": "C", "Ԁ": "D", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K",
    "М": "M", "О": "O", "Р": "P", "Ԛ": "Q", "Ѕ": "S", "Т": "T", "У": "Y", "Ԝ": "W", "Х": "X",
    # Greek
    "α": "a", "ϲ": "c", "ε": "e", "η": "n", "ι": "i", "ϳ": "j", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "ω": "w", "χ": "x", "γ": "y", "Α": "A", "Β": "B", "Ϲ": "C", "Ε": "E", "Ζ": "Z",
    "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Latin letters outside ASCII that NFKC leaves alone
    "ɑ": "a", "ɡ": "g", "ı": "i", "ȷ": "j", "ʟ": "L", "ɴ": "N",
}
# A word (of up to 40 characters, which bounds the search) with a look-alike in it.
_WORD_WITH_A_LOOK_ALIKE = re.compile(rf"(?<!\w)(?=\w{{1,40}}(?!\w))\w*[{''.join(_LOOK_ALIKES)}]\w*")
_READ_AS_LATIN = str.maketrans(_LOOK_ALIKES)
_INVISIBLE_CATEGORIES = ("Cf",)
_MARK_CATEGORIES = ("Mn", "Me")

_LEET = str.maketrans("013457", "oieast")
# A word (of up to 40 letters and digits, which bounds the search) with a digit in it, and in
# such a word, digits between letters ("k1ll", "dr00p1ng", "0v3rd0s3"): all its digits are letters.
_WORD_WITH_A_DIGIT = re.compile(r"(?<![^\W_])(?=[^\W_]{1,40}(?![^\W_]))[^\W_]*\d[^\W_]*")
_DIGITS_BETWEEN_LETTERS = re.compile(r"[A-Za-z][013457]+[A-Za-z]")
_LETTER = r"[^\W\d_]"
# Not after a letter, a digit or an apostrophe: the "t" of "can't" is no single letter.
_NOT_AFTER_LETTER_OR_DIGIT = r"(?<![^\W_])(?<!['’])"
_NOT_BEFORE_LETTER_OR_DIGIT = r"(?![^\W_])"
# The same separator all along: "e.g. i.e." is two abbreviations, not "egie".
_SPACED_LETTERS = re.compile(
    rf"{_NOT_AFTER_LETTER_OR_DIGIT}{_LETTER}([.\-_*·•~+|/] ?| ){_LETTER}{_NOT_BEFORE_LETTER_OR_DIGIT}"
    rf"(?:\1{_LETTER}{_NOT_BEFORE_LETTER_OR_DIGIT})+"
)
_LETTER_RUN = re.compile(rf"({_LETTER})\1{{2,}}", re.IGNORECASE)


def normalise(text: str) -> str:
    """`text` as a reader reads it: see the module docstring for the rules."""
    for _ in range(_ROUNDS):
        settled, text = text, _one_round(text)
        if text == settled:
            break
    return text


def _one_round(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_tables()[0])
    text = _TAG.sub(_tag_replacement, html.unescape(text))
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFKD", text).translate(_tables()[1]))
    text = _WORD_WITH_A_LOOK_ALIKE.sub(_read_look_alikes, text)
    text = _WORD_WITH_A_DIGIT.sub(_read_leetspeak, text)
    text = _SPACED_LETTERS.sub(lambda m: "".join(filter(str.isalpha, m.group())), text)
    return _LETTER_RUN.sub(lambda m: m.group()[:2], text)


def _read_look_alikes(match: re.Match[str]) -> str:
    word = match.group()
    latin = word.translate(_READ_AS_LATIN)
    return latin if latin.isascii() else word


def _read_leetspeak(match: re.Match[str]) -> str:
    word = match.group()
    return word.translate(_LEET) if _DIGITS_BETWEEN_LETTERS.search(word) else word


def _tag_replacement(match: re.Match[str]) -> str:
    return "" if match.group(1).lower() in _INLINE_TAGS else " "


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[int, None], dict[int, None]]:
    """str.translate tables: (format characters removed), (those and combining marks removed).
    Built on first use: reading every code point's category takes 0.2 s."""
    invisible: dict[int, None] = {}
    marks: dict[int, None] = {}
    for code in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(code))
        if category in _INVISIBLE_CATEGORIES:
            invisible[code] = None
        elif category in _MARK_CATEGORIES:
            marks[code] = None
    return invisible, {**invisible, **marks}
