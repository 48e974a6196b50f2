"""Load, validate and look up the curated knowledge file.

Editors change `knowledge/ms_pain.yml` without reading Python, so every problem is reported
with the entry and the field it is in, all at once, and a file with any problem is refused
whole: the assistant never serves part of a broken file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pain_assistant.dosing import find_dose
from pain_assistant.validation import ID_PATTERN, KnowledgeError, Source, parse_reviewed, parse_sources, read_yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KNOWLEDGE_FILE = PROJECT_ROOT / "knowledge" / "ms_pain.yml"
KNOWLEDGE_FILE_ENV = "MS_PAIN_KNOWLEDGE_FILE"

KINDS = ("topic", "medicine")
BODY_PARTS = (
    "legs", "arms", "feet", "hands", "face", "eyes", "head", "neck", "back", "chest", "hips",
)
SHORT_TITLE_MAX = 20

# The see_clinician line must say whom to contact: it is the steer every answer ends with.
CLINICIAN_PATTERN = re.compile(
    r"\b(?:doctors?|GP|nurses?|MS team|neurologists?|prescribers?|pharmacists?|"
    r"physiotherapists?|physical therapists?|care team|health ?care team)\b",
    re.IGNORECASE,
)
EMERGENCY_NUMBER_PATTERN = re.compile(r"(?<!\d)(?:911|999|112|988|111|116\s?123)(?!\d)")


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str
    title: str
    short_title: str
    answer: str
    see_clinician: str
    sources: tuple[Source, ...]
    reviewed: dt.date
    related: tuple[str, ...]
    body_parts: tuple[str, ...] = ()
    more: str | None = None
    brand_names: tuple[str, ...] = ()
    side_effects: str | None = None
    offers_leg_check: bool = False

    @property
    def is_medicine(self) -> bool:
        return self.kind == "medicine"


class KnowledgeBase:
    """The validated entries, in file order, with the lookups the actions need."""

    def __init__(self, entries: Iterable[Entry], body_part_topics: dict[str, str]):
        self._entries = {entry.id: entry for entry in entries}
        self._body_part_topics = dict(body_part_topics)
        self._medicine_names = {
            name.lower(): entry.id
            for entry in self.medicines
            for name in (entry.id, *entry.brand_names)
        }

    @property
    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    @property
    def medicines(self) -> list[Entry]:
        return [entry for entry in self._entries.values() if entry.is_medicine]

    @property
    def topics(self) -> list[Entry]:
        return [entry for entry in self._entries.values() if not entry.is_medicine]

    def get(self, entry_id: str | None) -> Entry | None:
        return self._entries.get(entry_id) if entry_id else None

    def __getitem__(self, entry_id: str) -> Entry:
        return self._entries[entry_id]

    def medicine(self, name: str | None) -> Entry | None:
        """The medicine entry for a canonical or brand name, whatever its case."""
        if not name:
            return None
        entry_id = self._medicine_names.get(name.strip().lower())
        return self._entries[entry_id] if entry_id else None

    def topic_for_body_part(self, body_part: str) -> Entry | None:
        """The entry that answers 'what about my <body part>?' when no current topic covers it."""
        return self.get(self._body_part_topics.get(body_part))


def knowledge_path() -> Path:
    """The file to serve: `MS_PAIN_KNOWLEDGE_FILE` if set (tests, staging), else the project's."""
    return Path(os.environ.get(KNOWLEDGE_FILE_ENV, DEFAULT_KNOWLEDGE_FILE))


def load(path: Path | str | None = None, today: dt.date | None = None) -> KnowledgeBase:
    """Read and validate the file; raise KnowledgeError naming every problem found."""
    path = Path(path) if path is not None else knowledge_path()
    return parse(read_yaml(path), path, today or dt.date.today())


def parse(document: Any, path: Path, today: dt.date) -> KnowledgeBase:
    problems: list[str] = []
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise KnowledgeError(path, ["the file must have a top-level 'entries:' list"])

    entries: list[Entry] = []
    seen: set[str] = set()
    for position, raw in enumerate(document["entries"], start=1):
        entry_id = raw.get("id") if isinstance(raw, dict) else None
        where = f"entry '{entry_id}'" if isinstance(entry_id, str) and entry_id else f"entry #{position}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a mapping of fields")
            continue
        entry_problems: list[str] = []
        entry = _parse_entry(raw, today, entry_problems)
        problems += [f"{where}: {problem}" for problem in entry_problems]
        if isinstance(entry_id, str) and entry_id in seen:
            problems.append(f"{where}: field 'id': duplicate id, already used by an earlier entry")
        if isinstance(entry_id, str):
            seen.add(entry_id)
        if entry is not None:
            entries.append(entry)

    for entry in entries:
        for related_id in entry.related:
            if related_id == entry.id:
                problems.append(f"entry '{entry.id}': field 'related': lists the entry itself")
            elif related_id not in seen:
                problems.append(f"entry '{entry.id}': field 'related': unknown entry id '{related_id}'")

    body_part_topics = _parse_body_part_topics(document.get("body_part_topics"), seen, problems)
    if problems:
        raise KnowledgeError(path, problems)
    return KnowledgeBase(entries, body_part_topics)


def _parse_entry(raw: dict[str, Any], today: dt.date, problems: list[str]) -> Entry | None:
    def text(field: str, required: bool = True) -> str | None:
        value = raw.get(field)
        if value is None:
            if required:
                problems.append(f"field '{field}': missing")
            return None
        if not isinstance(value, str) or not value.strip():
            problems.append(f"field '{field}': must be non-empty text")
            return None
        dose = find_dose(value)
        if dose:
            problems.append(f"field '{field}': holds a dose ('{dose}')")
        if EMERGENCY_NUMBER_PATTERN.search(value):
            problems.append(f"field '{field}': holds an emergency number; those belong to safety replies")
        return value.strip()

    def names(field: str, required: bool, allowed: Iterable[str] | None = None) -> tuple[str, ...]:
        value = raw.get(field)
        if value is None:
            if required:
                problems.append(f"field '{field}': missing")
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            problems.append(f"field '{field}': must be a list of names")
            return ()
        if required and not value:
            problems.append(f"field '{field}': must list at least one")
        if allowed is not None:
            for unknown in sorted(set(value) - set(allowed)):
                problems.append(f"field '{field}': '{unknown}' is not one of {', '.join(allowed)}")
        return tuple(v.strip() for v in value)

    known_fields = {
        "id", "kind", "title", "short_title", "answer", "more", "see_clinician", "sources",
        "reviewed", "related", "body_parts", "brand_names", "side_effects", "offers_leg_check",
    }
    for unknown in sorted(set(raw) - known_fields):
        problems.append(f"field '{unknown}': unknown field (a typo?)")

    entry_id = raw.get("id")
    if entry_id is None:
        problems.append("field 'id': missing")
    elif not isinstance(entry_id, str) or not ID_PATTERN.match(entry_id):
        problems.append("field 'id': must be lowercase letters, digits and underscores")

    kind = raw.get("kind")
    if kind not in KINDS:
        problems.append(f"field 'kind': must be one of {', '.join(KINDS)}")

    title = text("title")
    short_title = text("short_title")
    if short_title and len(short_title) > SHORT_TITLE_MAX:
        problems.append(f"field 'short_title': {len(short_title)} characters, at most {SHORT_TITLE_MAX}")
    answer = text("answer")
    see_clinician = text("see_clinician")
    if see_clinician and not CLINICIAN_PATTERN.search(see_clinician):
        problems.append("field 'see_clinician': must say whom to contact (doctor, MS nurse, pharmacist...)")
    more = text("more", required=False)
    related = names("related", required=True)
    body_parts = names("body_parts", required=False, allowed=BODY_PARTS)
    is_medicine = kind == "medicine"
    brand_names = names("brand_names", required=is_medicine)
    side_effects = text("side_effects", required=is_medicine)
    if not is_medicine:
        for field in ("brand_names", "side_effects"):
            if field in raw:
                problems.append(f"field '{field}': only medicine entries have it")
    offers_leg_check = raw.get("offers_leg_check", False)
    if not isinstance(offers_leg_check, bool):
        problems.append("field 'offers_leg_check': must be true or false")
    sources = parse_sources(raw.get("sources"), problems)
    reviewed = parse_reviewed(raw.get("reviewed"), today, problems)

    if problems:
        return None
    return Entry(
        id=entry_id, kind=kind, title=title, short_title=short_title, answer=answer,
        see_clinician=see_clinician, sources=sources, reviewed=reviewed, related=related,
        body_parts=body_parts, more=more, brand_names=brand_names, side_effects=side_effects,
        offers_leg_check=offers_leg_check,
    )


def _parse_body_part_topics(value: Any, entry_ids: set[str], problems: list[str]) -> dict[str, str]:
    where = "body_part_topics"
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{where}: must map body parts to entry ids")
        return {}
    for body_part, entry_id in value.items():
        if body_part not in BODY_PARTS:
            problems.append(f"{where}: '{body_part}' is not one of {', '.join(BODY_PARTS)}")
        if entry_id not in entry_ids:
            problems.append(f"{where}: '{body_part}' points to unknown entry id '{entry_id}'")
    return {str(k): str(v) for k, v in value.items()}
