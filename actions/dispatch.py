"""What every action does to speak: send composed messages, and open a conversation once."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from pain_assistant.replies import Message

DISCLAIMER_SLOT = "disclaimer_shown"
TOPIC_SLOT = "current_topic"


def send(dispatcher: CollectingDispatcher, messages: list[Message]) -> None:
    for message in messages:
        dispatcher.utter_message(text=message.text, buttons=[b.as_dict() for b in message.buttons])


def open_conversation(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """The first reply of a conversation starts with the disclaimer: not a doctor, not for emergencies."""
    if tracker.get_slot(DISCLAIMER_SLOT):
        return []
    dispatcher.utter_message(response="utter_disclaimer")
    return [SlotSet(DISCLAIMER_SLOT, True)]


def latest_intent(tracker: Tracker) -> str:
    """The intent that triggered this action (a button payload sets it directly)."""
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def entity_values(tracker: Tracker) -> dict[str, list[str]]:
    """The latest message's entities as {name: [values]}, in the order the extractors found them."""
    values: dict[str, list[str]] = {}
    for entity in tracker.latest_message.get("entities", []):
        value = entity.get("value")
        if isinstance(value, str) and value not in values.setdefault(entity["entity"], []):
            values[entity["entity"]].append(value)
    return values
