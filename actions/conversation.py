"""Actions that run the conversation rather than answer a health question."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dispatch import Events, ReplyAction, open_conversation
from actions.loaded_knowledge import KNOWLEDGE
from pain_assistant import replies
from pain_assistant.replies import Message


class ActionGreet(Action):
    """Hello, with the disclaimer the first time only."""

    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        events = open_conversation(dispatcher, tracker)
        dispatcher.utter_message(response="utter_greet")
        return events


class ActionListTopics(ReplyAction):
    """'What can you do?': the topics the knowledge file holds now."""

    action_name = "action_list_topics"

    def reply(self, tracker: Tracker) -> tuple[list[Message], Events]:
        return replies.topic_list(KNOWLEDGE), []
