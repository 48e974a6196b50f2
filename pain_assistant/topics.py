"""Work out which knowledge entry a message asks about.

Topic intents are named `ask_<entry id>`, topic buttons send `ask_topic` with a `topic`
entity, and medicine questions send `ask_medicine` with a `medicine` entity: this module
turns any of those into an entry, so actions hold no lookup rules of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from pain_assistant.knowledge import Entry, KnowledgeBase
from pain_assistant.replies import TOPIC_ENTITY, TOPIC_INTENT

TOPIC_INTENT_PREFIX = "ask_"
MEDICINE_INTENT = "ask_medicine"


@dataclass(frozen=True)
class Resolution:
    """The entry asked about, or why there is none: no medicine named, or one we don't cover."""

    entry: Entry | None
    unknown_medicine: str | None = None
    medicine_missing: bool = False


def entry_for_topic_intent(intent: str, base: KnowledgeBase) -> Entry | None:
    """`ask_ms_hug` -> the `ms_hug` entry, if the knowledge file has one."""
    if not intent.startswith(TOPIC_INTENT_PREFIX):
        return None
    return base.get(intent[len(TOPIC_INTENT_PREFIX):])


def resolve(
    intent: str,
    entities: dict[str, list[str]],
    base: KnowledgeBase,
    current_topic: str | None = None,
) -> Resolution:
    """The entry for this message; `entities` maps entity names to the values found."""
    if intent == TOPIC_INTENT:
        return Resolution(next(filter(None, map(base.get, entities.get(TOPIC_ENTITY, []))), None))
    if intent == MEDICINE_INTENT:
        return resolve_medicine(entities, base, current_topic)
    return Resolution(entry_for_topic_intent(intent, base))


def resolve_medicine(
    entities: dict[str, list[str]], base: KnowledgeBase, current_topic: str | None
) -> Resolution:
    """The medicine named in the message, else the one just talked about (for follow-ups like
    'and is that one drowsy?'); a name the knowledge file lacks is reported, never guessed."""
    names = entities.get("medicine", [])
    if names:
        known = next(filter(None, map(base.medicine, names)), None)
        return Resolution(known) if known else Resolution(None, unknown_medicine=names[0])
    current = base.get(current_topic)
    if current and current.is_medicine:
        return Resolution(current)
    return Resolution(None, medicine_missing=True)


def entry_for_body_part(body_part: str, base: KnowledgeBase, current_topic: str | None) -> tuple[Entry | None, bool]:
    """For 'what about my arms?': (entry, True) when the current topic covers that body part,
    else (the entry the knowledge file names for it, False)."""
    current = base.get(current_topic)
    if current and body_part in current.body_parts:
        return current, True
    return base.topic_for_body_part(body_part), False
