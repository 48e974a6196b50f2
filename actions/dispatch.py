"""What every action shares: opening a conversation once, reading the message, sending replies."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from pain_assistant.replies import Message

DISCLAIMER_SLOT = "disclaimer_shown"
TOPIC_SLOT = "current_topic"

Events = list[dict[str, Any]]


def open_conversation(dispatcher: CollectingDispatcher, tracker: Tracker) -> Events:
    """The first reply of a conversation starts with the disclaimer: not a doctor, not for emergencies."""
    if tracker.get_slot(DISCLAIMER_SLOT):
        return []
    dispatcher.utter_message(response="utter_disclaimer")
    return [SlotSet(DISCLAIMER_SLOT, True)]


def send(dispatcher: CollectingDispatcher, messages: list[Message]) -> None:
    for message in messages:
        dispatcher.utter_message(text=message.text, buttons=[b.as_dict() for b in message.buttons])


def latest_intent(tracker: Tracker) -> str:
    """The intent that triggered this action (a button payload sets it directly)."""
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def entity_values(tracker: Tracker) -> dict[str, list[str]]:
    """The latest message's entities as {name: [values]}, in the order the extractors found them."""
    return message_entity_values(tracker.latest_message)


def message_entity_values(parse_data: dict[str, Any]) -> dict[str, list[str]]:
    """A message's entities, from its parse data, as {name: [values]}, in the extractors' order."""
    values: dict[str, list[str]] = {}
    for entity in parse_data.get("entities") or []:
        value = entity.get("value")
        if isinstance(value, str) and value not in values.setdefault(entity["entity"], []):
            values[entity["entity"]].append(value)
    return values


def on_topic(entry_id: str) -> Events:
    """Remember what the conversation is about, for 'tell me more' and other follow-ups."""
    return [SlotSet(TOPIC_SLOT, entry_id)]


class ReplyAction(Action, ABC):
    """An action whose reply is composed in `pain_assistant`: subclasses say what, this sends it."""

    action_name: str
    # Whether a first reply opens with the disclaimer; off where a domain response went first.
    opens_conversation = True

    def name(self) -> str:
        return self.action_name

    @abstractmethod
    def reply(self, tracker: Tracker) -> tuple[list[Message], Events]:
        """The messages to send and the events to record."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        events = open_conversation(dispatcher, tracker) if self.opens_conversation else []
        messages, reply_events = self.reply(tracker)
        send(dispatcher, messages)
        return events + reply_events
