"""The guided leg-pain check: reading each answer, and what the person gets at the end."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.dispatch import Events, send
from actions.loaded_knowledge import KNOWLEDGE
from pain_assistant import leg_check
from pain_assistant.render_safety import response_name


class ValidateLegCheckForm(FormValidationAction):
    """Turns free text into yes, no or unsure; a yes ends the check on that question's flag."""

    def name(self) -> str:
        return "validate_leg_check_form"

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        events = []
        for slot, text in tracker.slots_to_validate().items():
            if slot not in leg_check.SLOTS or text is None:
                continue
            answer = leg_check.read_answer(str(text))
            if answer is None:
                dispatcher.utter_message(response="utter_leg_check_unclear")
                events.append(SlotSet(slot, None))
            elif answer == leg_check.YES:
                # Fill the questions left so the form ends here; the result action warns.
                events.append(SlotSet(leg_check.FLAG_SLOT, leg_check.flag_for(slot)))
                events += [SlotSet(s, leg_check.YES if s == slot else leg_check.UNSURE) for s in leg_check.SLOTS
                           if s == slot or tracker.get_slot(s) is None]
            else:
                events.append(SlotSet(slot, answer))
        return events


class ActionLegCheckResult(Action):
    """A yes: that flag's warning (the same domain response the red-flag rules send).
    Otherwise: leg pain, what helps, and the clinician steer. Then the check is reset."""

    def name(self) -> str:
        return "action_leg_check_result"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        flag_id = tracker.get_slot(leg_check.FLAG_SLOT)
        if flag_id:
            dispatcher.utter_message(response=response_name(flag_id))
        else:
            send(dispatcher, leg_check.result(KNOWLEDGE))
        return [SlotSet(slot, None) for slot in (*leg_check.SLOTS, leg_check.FLAG_SLOT)]
