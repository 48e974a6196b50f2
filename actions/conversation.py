"""Actions that run the conversation rather than answer a health question."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dispatch import open_conversation, send
from actions.loaded_knowledge import KNOWLEDGE
from pain_assistant import replies


class ActionGreet(Action):
    """Hello, with the disclaimer the first time only."""

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        events = open_conversation(dispatcher, tracker)
        dispatcher.utter_message(response="utter_greet")
        return events


class ActionListTopics(Action):
    """'What can you do?': the topics the knowledge file holds now."""

    def name(self) -> str:
        return "action_list_topics"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        events = open_conversation(dispatcher, tracker)
        send(dispatcher, replies.topic_list(KNOWLEDGE))
        return events
