"""Actions that answer health questions from the knowledge file."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.dispatch import TOPIC_SLOT, Events, ReplyAction, entity_values, latest_intent, on_topic
from actions.loaded_knowledge import KNOWLEDGE
from pain_assistant import replies, topics
from pain_assistant.replies import Message


class ActionAnswerTopic(ReplyAction):
    """A topic intent, a topic button or a medicine question: answer with that entry."""

    action_name = "action_answer_topic"

    def reply(self, tracker: Tracker) -> tuple[list[Message], Events]:
        found = topics.resolve(latest_intent(tracker), entity_values(tracker), KNOWLEDGE, tracker.get_slot(TOPIC_SLOT))
        if found.entry is not None:
            return replies.answer(found.entry, KNOWLEDGE), on_topic(found.entry.id)
        if found.unknown_medicine or found.medicine_missing:
            return replies.choose_medicine(KNOWLEDGE, found.unknown_medicine), []
        return replies.unknown_topic(KNOWLEDGE), []


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
