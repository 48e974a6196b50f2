"""The project's collected wordings of red flags and of ordinary messages, in one place.

`knowledge/red_flag_examples/` holds every set the red-flag detector was written or fixed against
(each blind set stopped being blind when its misses were fixed). They test the lexicon and train
the learned detector, so they are training data, not evidence: the figures that count come from
the frozen set (`FROZEN_SET`), which only the evaluation reads, never training.

Each file has `positives` (flag id -> messages) and `ordinary` (messages); an ordinary message
whose line ends in `# borderline` is one a careful nurse would still want checked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import yaml

from pain_assistant.knowledge import PROJECT_ROOT
from pain_assistant.render_safety import CHECK_INTENT, RED_FLAG_ENTITY, RED_FLAG_INTENT

EXAMPLES_DIR = PROJECT_ROOT / "knowledge" / "red_flag_examples"
TUNING_SETS = (
    "red_flag_phrasings.yml", "red_flag_holdout.yml", "red_flag_fresh.yml", "red_flag_blind2.yml", "red_flag_blind3.yml",
    "red_flag_blind4.yml", "red_flag_blind5.yml", "red_flag_blind6.yml",
    "red_flag_blind7.yml", "red_flag_blind8.yml", "red_flag_blind9.yml", "red_flag_blind10.yml", "red_flag_new_flags.yml",
)
OBFUSCATED = "obfuscated.yml"
LOUD = {"emergency", "crisis"}  # severities whose reply names the emergency or crisis number


def load_set(name: str | Path) -> tuple[list[tuple[str, str]], list[tuple[str, bool]]]:
    """(flag id, message) positives and (message, borderline?) ordinary messages of one set: a file
    name in `EXAMPLES_DIR`, or a path."""
    path = name if isinstance(name, Path) else EXAMPLES_DIR / name
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    positives = [(flag, message) for flag, messages in data["positives"].items() for message in messages]
    borderline = {line.split('"')[1] for line in text.splitlines() if "# borderline" in line and '"' in line}
    ordinary = [(message, message in borderline) for message in data["ordinary"]]
    return positives, ordinary


def is_false_alarm(severities: set[str], borderline: bool) -> bool:
    """Whether the flags raised (their severities) are a warning an ordinary message should not get:
    any, or on a borderline message (one a careful nurse would still want checked) an emergency or
    crisis reply; an urgent one is what it needs."""
    return bool(severities) and (not borderline or bool(severities & LOUD))


def all_sets() -> list[str]:
    """Every set in `EXAMPLES_DIR`: the tuning sets, the obfuscated spellings, and sets written
    only to train the learned detector."""
    return sorted(path.name for path in EXAMPLES_DIR.glob("*.yml"))


FROZEN_SET = PROJECT_ROOT / "tests" / "safety_frozen" / "frozen_blind_2026-12-03.yml"
# Written after the learned detector was built, by a writer who saw neither the patterns nor the
# training data; measured once, never used to fix or train anything.
BLIND_AFTER_SET = PROJECT_ROOT / "tests" / "safety_blind" / "blind_after_2026-12-03.yml"
NEVER_USED_SETS = (FROZEN_SET, BLIND_AFTER_SET)
# The never-used sets' ordinary messages come in three parts, each under a comment naming it.
ORDINARY_KINDS = ("plain", "long", "harmless")
_KIND_HEADING = re.compile(r"^\s*#\s*(" + "|".join(ORDINARY_KINDS) + r")\b")


def ordinary_kinds(path: Path) -> list[str]:
    """The kind of each ordinary message of a set, in order, from the comment heading its part
    ("# plain ...", "# long ...", "# harmless ..."); "" where no heading names one."""
    kinds: list[str] = []
    kind, in_ordinary = "", False
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith((" ", "\t", "#")) and line.strip():
            in_ordinary = line.startswith("ordinary:")
        elif in_ordinary and (heading := _KIND_HEADING.match(line)):
            kind = heading.group(1)
        elif in_ordinary and line.lstrip().startswith("- "):
            kinds.append(kind)
    return kinds
OUTCOMES = ("warned loud", "warned", "asked", "answered")


def outcome(parsed: dict, severity_of: Callable[[str], str]) -> str:
    """What a person would get for a message, from the model's parse result: a warning naming the
    emergency or crisis number ("warned loud"), an urgent warning, a check question, or an answer."""
    intent = (parsed.get("intent") or {}).get("name")
    flags = [e["value"] for e in parsed.get("entities") or [] if e.get("entity") == RED_FLAG_ENTITY]
    if intent == RED_FLAG_INTENT:
        return "warned loud" if {severity_of(f) for f in flags} & LOUD else "warned"
    return "asked" if intent == CHECK_INTENT else "answered"
