"""Compose what the assistant says from knowledge entries.

Every health reply is built here, so the rule "an answer ends with a steer to the person's
clinician" holds in one place: each list of messages below ends with the entry's
`see_clinician` line, and that line carries the related topics as buttons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pain_assistant.knowledge import Entry, KnowledgeBase

TOPIC_INTENT = "ask_topic"
LEG_CHECK_BUTTON_TITLE = "Check my leg pain"
LEG_CHECK_PAYLOAD = "/start_leg_check"
TOPIC_ENTITY = "topic"
HELP_BUTTON_COUNT = 6


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Message:
    text: str
    buttons: tuple[Button, ...] = field(default=())


def topic_button(entry: Entry) -> Button:
    """A button that asks for `entry` directly, bypassing the classifier."""
    return Button(entry.short_title, f"/{TOPIC_INTENT}{json.dumps({TOPIC_ENTITY: entry.id})}")


def _steer(entry: Entry, base: KnowledgeBase) -> Message:
    buttons = [topic_button(base[related_id]) for related_id in entry.related]
    if entry.offers_leg_check:
        buttons.insert(0, Button(LEG_CHECK_BUTTON_TITLE, LEG_CHECK_PAYLOAD))
    return Message(entry.see_clinician, tuple(buttons))


def _sources_line(entry: Entry) -> str:
    publishers = list(dict.fromkeys(source.publisher for source in entry.sources))
    return f"Source: {'; '.join(publishers)}."


def answer(entry: Entry, base: KnowledgeBase) -> list[Message]:
    return [Message(f"{entry.title}\n\n{entry.answer}\n\n{_sources_line(entry)}"), _steer(entry, base)]


def more(entry: Entry, base: KnowledgeBase) -> list[Message]:
    """'Tell me more': the entry's extra detail, or an honest pointer to related topics."""
    if entry.more:
        return [Message(f"{entry.title} (more)\n\n{entry.more}"), _steer(entry, base)]
    return [
        Message(f"That is all I have on {entry.short_title.lower()}. The topics below go further."),
        _steer(entry, base),
    ]


def side_effects(medicine: Entry, base: KnowledgeBase) -> list[Message]:
    return [Message(f"{medicine.title}: side effects\n\n{medicine.side_effects}"), _steer(medicine, base)]


def body_part_also(entry: Entry, body_part: str, base: KnowledgeBase) -> list[Message]:
    """The current topic already covers the body part asked about: say so, without repeating it."""
    return [
        Message(f"Yes. What I said about {entry.short_title.lower()} can apply to your {body_part} too."),
        _steer(entry, base),
    ]


def choose_medicine(base: KnowledgeBase, unknown_name: str | None = None) -> list[Message]:
    """Ask which medicine is meant; name an unknown one honestly rather than guess."""
    lead = (
        f"I don't have information about {unknown_name}. "
        if unknown_name
        else "Which medicine do you mean? "
    )
    return [
        Message(
            f"{lead}I can explain these pain medicines. A pharmacist can answer questions about any other medicine.",
            tuple(topic_button(m) for m in base.medicines),
        )
    ]


def no_body_part_topic(body_part: str, base: KnowledgeBase) -> list[Message]:
    return [
        Message(
            f"I don't have a topic about pain in your {body_part}. Please ask your doctor or MS nurse about it. "
            "These are the topics I know about:",
            tuple(topic_button(t) for t in base.topics[:HELP_BUTTON_COUNT]),
        )
    ]


def unknown_topic(base: KnowledgeBase) -> list[Message]:
    """No topic to go on (a follow-up with nothing before it, a stale button): offer topics."""
    return [
        Message(
            "Which topic would you like to know about? Pick one below or ask in your own words.",
            tuple(topic_button(t) for t in base.topics[:HELP_BUTTON_COUNT]),
        )
    ]


def topic_list(base: KnowledgeBase) -> list[Message]:
    """'What can you do?': every topic and medicine in the knowledge file, by name."""
    topics = ", ".join(t.short_title for t in base.topics)
    medicines = ", ".join(m.short_title for m in base.medicines)
    return [
        Message(
            "I explain pain in MS and what can help, in plain words, with sources.\n\n"
            f"Topics: {topics}.\n\n"
            f"Medicines (what they are for, never doses): {medicines}.\n\n"
            "Ask in your own words, or pick a topic below.",
            tuple(topic_button(t) for t in base.topics[:HELP_BUTTON_COUNT]),
        )
    ]
