"""Actions that answer health questions from the knowledge file."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.dispatch import (
    TOPIC_SLOT,
    Events,
    ReplyAction,
    entity_values,
    latest_intent,
    message_entity_values,
    on_topic,
)
from actions.loaded_knowledge import KNOWLEDGE
from pain_assistant import replies, topics
from pain_assistant.render_safety import CHECK_INTENT, CHECK_RESPONSES
from pain_assistant.replies import Message


def answer_topic(
    intent: str, entities: dict[str, list[str]], current_topic: str | None
) -> tuple[list[Message], Events]:
    """The entry a topic intent, a topic button or a medicine question asks for; the one answer
    for a question asked now and for one held back by a red-flag check-in question."""
    found = topics.resolve(intent, entities, KNOWLEDGE, current_topic)
    if found.entry is not None:
        return replies.answer(found.entry, KNOWLEDGE), on_topic(found.entry.id)
    if found.unknown_medicine or found.medicine_missing:
        return replies.choose_medicine(KNOWLEDGE, found.unknown_medicine), []
    return replies.unknown_topic(KNOWLEDGE), []


class ActionAnswerTopic(ReplyAction):
    """A topic intent, a topic button or a medicine question: answer with that entry."""

    action_name = "action_answer_topic"

    def reply(self, tracker: Tracker) -> tuple[list[Message], Events]:
        return answer_topic(latest_intent(tracker), entity_values(tracker), tracker.get_slot(TOPIC_SLOT))


class ActionAnswerHeldQuestion(ReplyAction):
    """After "No" to a red-flag check-in question: the message the question was asked about,
    answered as `action_answer_topic` would, with the intent the classifier gave it (the safety
    component put `red_flag_check` first and kept the classifier's ranking after it)."""

    action_name = "action_answer_held_question"

    def reply(self, tracker: Tracker) -> tuple[list[Message], Events]:
        held = held_message(tracker)
        if held is None:
            return replies.unknown_topic(KNOWLEDGE), []
        return answer_topic(classifier_intent(held), message_entity_values(held), tracker.get_slot(TOPIC_SLOT))


def held_message(tracker: Tracker) -> dict[str, Any] | None:
    """The parse data of the person's message just before the latest check-in question."""
    asked = False
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") in CHECK_RESPONSES:
            asked = True
        elif asked and event.get("event") == "user":
            return event.get("parse_data") or {}
    return None


def classifier_intent(parse_data: dict[str, Any]) -> str:
    """The classifier's top intent: the first of the ranking that is not the check's own."""
    ranking = parse_data.get("intent_ranking") or []
    return next((i.get("name") or "" for i in ranking if i.get("name") != CHECK_INTENT), "")


class ActionTellMore(ReplyAction):
    """'Tell me more' about the topic of the conversation."""

    action_name = "action_tell_more"

    def reply(self, tracker: Tracker) -> tuple[list[Message], Events]:
        current = KNOWLEDGE.get(tracker.get_slot(TOPIC_SLOT))
        return (replies.more(current, KNOWLEDGE) if current else replies.unknown_topic(KNOWLEDGE)), []


class ActionAnswerBodyPart(ReplyAction):
    """'What about my arms?': the current topic if it covers that part, else the topic for it."""

    action_name = "action_answer_body_part"

    def reply(self, tracker: Tracker) -> tuple[list[Message], Events]:
        body_parts = entity_values(tracker).get("body_part", [])
        if not body_parts:
            return replies.unknown_topic(KNOWLEDGE), []
        entry, covered = topics.entry_for_body_part(body_parts[0], KNOWLEDGE, tracker.get_slot(TOPIC_SLOT))
        if entry is None:
            return replies.no_body_part_topic(body_parts[0], KNOWLEDGE), []
        if covered:
            return replies.body_part_also(entry, body_parts[0], KNOWLEDGE), []
        return replies.answer(entry, KNOWLEDGE), on_topic(entry.id)


class ActionAnswerSideEffects(ReplyAction):
    """Side effects of the medicine named, or of the one just talked about."""

    action_name = "action_answer_side_effects"

    def reply(self, tracker: Tracker) -> tuple[list[Message], Events]:
        found = topics.resolve_medicine(entity_values(tracker), KNOWLEDGE, tracker.get_slot(TOPIC_SLOT))
        if found.entry is None:
            return replies.choose_medicine(KNOWLEDGE, found.unknown_medicine), []
        return replies.side_effects(found.entry, KNOWLEDGE), on_topic(found.entry.id)


class ActionAnswerMedicineUse(ReplyAction):
    """After the no-dosing reply: what the medicine asked about is used for, if we know it."""

    action_name = "action_answer_medicine_use"
    opens_conversation = False  # the no-dosing reply has just gone out

    def reply(self, tracker: Tracker) -> tuple[list[Message], Events]:
        found = topics.resolve_medicine(entity_values(tracker), KNOWLEDGE, tracker.get_slot(TOPIC_SLOT))
        if found.entry is None:
            return [], []
        return replies.answer(found.entry, KNOWLEDGE), on_topic(found.entry.id)
