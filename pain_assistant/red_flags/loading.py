"""Reading and validating the red-flag file."""

from __future__ import annotations

import datetime as dt
import re
import string
from pathlib import Path
from typing import Any

from pain_assistant.knowledge import PROJECT_ROOT
from pain_assistant.red_flags.context import CATEGORIES, DIRECTIONS, Context, ContextRule, Words
from pain_assistant.red_flags.matching import SEVERITIES, Pattern, RedFlag, RedFlagDetector
from pain_assistant.red_flags.words import Part, Slot
from pain_assistant.validation import ID_PATTERN, KnowledgeError, parse_reviewed, parse_sources, read_yaml

DEFAULT_RED_FLAGS_FILE = PROJECT_ROOT / "knowledge" / "red_flags.yml"
DEFAULT_REGIONS_FILE = PROJECT_ROOT / "knowledge" / "regions.yml"

PLACEHOLDERS = ("emergency_number", "crisis_line", "crisis_line_short", "urgent_care", "helpline", "poison_help")
# Which placeholder each severity's reply must carry, so every warning says whom to call.
REQUIRED_PLACEHOLDER = {"emergency": "emergency_number", "crisis": "crisis_line", "urgent": "urgent_care"}
# The check-in questions asked when a flag is suspected but not certain, and the placeholder each
# must carry: the question names whom to call in one short line, before any answer.
CHECKS = {"crisis": "crisis_line_short", "now": "emergency_number"}
TOP_LEVEL_FIELDS = {"checks", "terms", "context", "flags"}
RULE_FIELDS = {"category", "direction", "scope", "phrases", "within_clause", "of", "unless", "with"}
# The longest reach a rule may have, in words: about a sentence.
MOST_SCOPE = 30

_TERM_REF = re.compile(r"^\{([a-z0-9_]+)\}$")
_WORD = re.compile(r"=?[a-z0-9]+\*?")
# Between parts: " + " (in the same sentence as the others) or " ... " (anywhere in the message).
_JOINER = re.compile(r"( \+ | \.\.\. )")
_PLAIN_WORDS = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")


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
    # One slot per term, shared by every pattern that uses it.
    slots = {name: Slot(phrases) for name, phrases in terms.items()}
    # And one Part per part written the same way, so a message is searched for it once.
    parts: dict[str, Part] = {}
    context = _parse_context(document.get("context"), terms, slots, problems)
    checks = _parse_checks(document.get("checks"), numbers, problems)

    flags: list[RedFlag] = []
    seen: set[str] = set()
    for position, raw in enumerate(document["flags"], start=1):
        flag_id = raw.get("id") if isinstance(raw, dict) else None
        where = f"flag '{flag_id}'" if isinstance(flag_id, str) and flag_id else f"flag #{position}"
        flag_problems: list[str] = []
        flag = _parse_flag(raw, slots, parts, numbers, today, flag_problems) if isinstance(raw, dict) else None
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
    return RedFlagDetector(flags, context, checks)


def _parse_terms(value: Any, problems: list[str]) -> dict[str, Words]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append("terms: must map term names to lists of words or phrases")
        return {}
    terms: dict[str, Words] = {}
    for name, phrases in value.items():
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            problems.append(f"term '{name}': must be a non-empty list of words or phrases")
            continue
        # A term may be built on one listed above it, so the two cannot drift apart.
        terms[str(name)] = _with_terms(phrases, terms, problems, f"term '{name}': '{{}}' is not a term listed above it")
    return terms


def _with_terms(
    entries: list[str], terms: dict[str, Words], problems: list[str], unknown: str,
) -> Words:
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


def _parse_context(value: Any, terms: dict[str, Words], slots: dict[str, Slot], problems: list[str]) -> Context:
    """The optional `context:` section: `terminate` (words that end every rule's reach) and `rules`.
    Without it, every match counts."""
    if value is None:
        return Context()
    if not isinstance(value, dict):
        problems.append("context: must map terminate and rules")
        return Context()
    problems += [f"context: '{unknown}': unknown field (a typo?)" for unknown in sorted(set(value) - {"terminate", "rules"})]
    terminate = _parse_phrases(value.get("terminate", []), terms, problems, "context: 'terminate'")
    rules = value.get("rules")
    if not isinstance(rules, list) or not rules:
        problems.append("context: 'rules': must list at least one rule")
        return Context(terminate=terminate)
    parsed = []
    for number, raw in enumerate(rules, start=1):
        rule_problems: list[str] = []
        rule = _parse_rule(raw, terms, slots, rule_problems)
        problems += [f"context: rule #{number}: {problem}" for problem in rule_problems]
        if rule is not None and not rule_problems:
            parsed.append(rule)
    return Context(tuple(parsed), terminate)


def _parse_rule(raw: Any, terms: dict[str, Words], slots: dict[str, Slot], problems: list[str]) -> ContextRule | None:
    if not isinstance(raw, dict):
        problems.append(f"must be a mapping of {', '.join(sorted(RULE_FIELDS))}")
        return None
    problems += [f"'{unknown}': unknown field (a typo?)" for unknown in sorted(set(raw) - RULE_FIELDS)]
    category, direction, scope = raw.get("category"), raw.get("direction"), raw.get("scope")
    if category not in CATEGORIES:
        problems.append(f"'category': must be one of {', '.join(CATEGORIES)}")
    if direction not in DIRECTIONS:
        problems.append(f"'direction': must be one of {', '.join(DIRECTIONS)}")
    if not isinstance(scope, int) or isinstance(scope, bool) or not 1 <= scope <= MOST_SCOPE:
        problems.append(f"'scope': must be a whole number of words from 1 to {MOST_SCOPE}")
    within_clause = raw.get("within_clause", False)
    if not isinstance(within_clause, bool):
        problems.append("'within_clause': must be true or false")
    phrases = _parse_phrases(raw.get("phrases"), terms, problems, "'phrases'")
    if not phrases:
        problems.append("'phrases': must list the words or phrases that modify a mention")
    of = ()
    listed = raw.get("of", [])
    if not isinstance(listed, list) or not all(isinstance(p, str) and p.strip() and not _JOINER.search(p) for p in listed):
        problems.append("'of': must list words, phrases or {terms} a modified mention begins with, without ' + ' or ' ... '")
    elif listed:
        try:
            of = _parse_pattern("|".join(p.strip() for p in listed), slots, {}).parts[0]
        except ValueError as error:
            problems.append(f"'of': {error}")
    unless = _parse_phrases(raw.get("unless", []), terms, problems, "'unless'")
    with_phrases = _parse_phrases(raw.get("with", []), terms, problems, "'with'")
    if problems:
        return None
    return ContextRule(category, direction, scope, phrases, within_clause, of, unless, with_phrases)


def _parse_phrases(listed: Any, terms: dict[str, Words], problems: list[str], where: str) -> Words:
    """A list of phrases compared exactly: plain lowercase words, or {terms} (their `=` marks dropped)."""
    plain = (f"{where}: must list {{terms}} or phrases of plain lowercase words: no '*', '=' or apostrophes "
             "(\"havent\", not \"haven't\"), and \"no\" in quotes (YAML reads a bare no as false)")
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        problems.append(plain)
        return ()
    expanded = tuple(
        tuple(word.lstrip("=") for word in words)
        for words in _with_terms(listed, terms, problems, f"{where}: unknown term '{{}}'")
    )
    if not all(_TERM_REF.fullmatch(entry) or _PLAIN_WORDS.fullmatch(entry) for entry in listed) or not all(
        _PLAIN_WORDS.fullmatch(" ".join(words)) for words in expanded
    ):
        problems.append(plain)
        return ()
    return expanded


def _parse_pattern(source: str, slots: dict[str, Slot], known: dict[str, Part]) -> Pattern:
    """Compile one pattern, its terms as `slots`, reusing the `known` parts (and adding its own);
    raise ValueError saying what is wrong with it."""
    parts, anywhere = [], set()
    pieces = _JOINER.split(source)
    for index, part_source in enumerate(pieces[::2]):
        if index and pieces[2 * index - 1] == " ... ":
            anywhere.add(index)
        if part_source in known:
            parts.append(known[part_source])
            continue
        phrases = []
        for phrase_source in part_source.split("|"):
            phrase = []
            for word in phrase_source.split():
                term = _TERM_REF.match(word)
                if term:
                    if term.group(1) not in slots:
                        raise ValueError(f"unknown term '{{{term.group(1)}}}'")
                    phrase.append(slots[term.group(1)])
                elif _WORD.fullmatch(word):
                    phrase.append(Slot(((word,),)))
                else:
                    raise ValueError(f"'{word}' is not a lowercase word, a prefix* or a {{term}}")
            if not phrase:
                raise ValueError("an empty phrase (check the '|', ' + ' and ' ... ' signs)")
            phrases.append(tuple(phrase))
        known[part_source] = tuple(phrases)
        parts.append(known[part_source])
    return Pattern(source, tuple(parts), frozenset(anywhere))


def _parse_checks(value: Any, numbers: dict[str, str], problems: list[str]) -> dict[str, str]:
    """The `checks:` mapping: one question per kind in CHECKS, each naming whom to call."""
    if not isinstance(value, dict):
        problems.append(f"checks: must map {', '.join(CHECKS)} to the question's text")
        return {}
    problems += [f"checks: '{unknown}': unknown field (a typo?)" for unknown in sorted(set(value) - set(CHECKS))]
    rendered = {
        kind: render_reply(value.get(kind), numbers, f"checks: '{kind}'", problems, "emergency", required)
        for kind, required in CHECKS.items()
    }
    return {kind: text for kind, text in rendered.items() if text is not None}


def render_reply(
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


def _parse_flag(raw: dict[str, Any], slots, parts, numbers, today: dt.date, problems: list[str]) -> RedFlag | None:
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
                patterns.append(_parse_pattern(source.strip(), slots, parts))
            except ValueError as error:
                problems.append(f"field 'patterns' #{number}: {error}")

    reply = None
    if severity in SEVERITIES:
        reply = render_reply(raw.get("reply"), numbers, "field 'reply'", problems, severity)
    sources = parse_sources(raw.get("sources"), problems)
    reviewed = parse_reviewed(raw.get("reviewed"), today, problems)
    if problems:
        return None
    return RedFlag(flag_id, severity, title.strip(), tuple(patterns), reply, sources, reviewed)
