"""Actions that answer health questions from the knowledge file."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.dispatch import TOPIC_SLOT, entity_values, latest_intent, open_conversation, send
from actions.loaded_knowledge import KNOWLEDGE
from pain_assistant import replies, topics


class ActionAnswerTopic(Action):
    """A topic intent, a topic button or a medicine question: answer with that entry."""

    def name(self) -> str:
        return "action_answer_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        events = open_conversation(dispatcher, tracker)
        found = topics.resolve(latest_intent(tracker), entity_values(tracker), KNOWLEDGE, tracker.get_slot(TOPIC_SLOT))
        if found.entry is None:
            if found.unknown_medicine or found.medicine_missing:
                send(dispatcher, replies.choose_medicine(KNOWLEDGE, found.unknown_medicine))
            else:
                dispatcher.utter_message(response="utter_not_sure")
            return events
        send(dispatcher, replies.answer(found.entry, KNOWLEDGE))
        return events + [SlotSet(TOPIC_SLOT, found.entry.id)]


class ActionTellMore(Action):
    """'Tell me more' about the topic of the conversation."""

    def name(self) -> str:
        return "action_tell_more"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        events = open_conversation(dispatcher, tracker)
        current = KNOWLEDGE.get(tracker.get_slot(TOPIC_SLOT))
        send(dispatcher, replies.more(current, KNOWLEDGE) if current else replies.no_current_topic(KNOWLEDGE))
        return events


class ActionAnswerBodyPart(Action):
    """'What about my arms?': the current topic if it covers that part, else the topic for it."""

    def name(self) -> str:
        return "action_answer_body_part"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        events = open_conversation(dispatcher, tracker)
        body_parts = entity_values(tracker).get("body_part", [])
        if not body_parts:
            send(dispatcher, replies.no_current_topic(KNOWLEDGE))
            return events
        body_part = body_parts[0]
        entry, covered = topics.entry_for_body_part(body_part, KNOWLEDGE, tracker.get_slot(TOPIC_SLOT))
        if entry is None:
            send(dispatcher, replies.no_body_part_topic(body_part, KNOWLEDGE))
            return events
        if covered:
            send(dispatcher, replies.body_part_also(entry, body_part, KNOWLEDGE))
            return events
        send(dispatcher, replies.answer(entry, KNOWLEDGE))
        return events + [SlotSet(TOPIC_SLOT, entry.id)]


class ActionAnswerSideEffects(Action):
    """Side effects of the medicine named, or of the one just talked about."""

    def name(self) -> str:
        return "action_answer_side_effects"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        events = open_conversation(dispatcher, tracker)
        found = topics.resolve_medicine(entity_values(tracker), KNOWLEDGE, tracker.get_slot(TOPIC_SLOT))
        if found.entry is None:
            send(dispatcher, replies.choose_medicine(KNOWLEDGE, found.unknown_medicine))
            return events
        send(dispatcher, replies.side_effects(found.entry, KNOWLEDGE))
        return events + [SlotSet(TOPIC_SLOT, found.entry.id)]
