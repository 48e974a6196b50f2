"""The guided leg-pain check without Rasa: reading answers, the validation action, the result."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.leg_check import ActionLegCheckResult, ValidateLegCheckForm
from actions.loaded_knowledge import KNOWLEDGE
from pain_assistant import knowledge, leg_check, red_flags


@pytest.mark.parametrize(
    "text, expected",
    [("yes", "yes"), ("yeah a bit swollen", "yes"), ("Yep", "yes"), ("i think so", "yes"), ("sort of", "yes"),
     ("no", "no"), ("nope", "no"), ("not really", "no"), ("I don't think so", "no"), ("no falls", "no"),
     ("not sure", "unsure"), ("dunno", "unsure"), ("skip", "unsure"), ("maybe", "unsure"),
     ("purple monkey", None), ("", None)],
)
def test_free_text_answers(text, expected):
    assert leg_check.read_answer(text) == expected


def test_every_question_points_to_a_real_flag_and_has_a_prompt(domain):
    flags = {flag.id for flag in red_flags.load().flags}
    assert {q.flag_id for q in leg_check.QUESTIONS} <= flags
    assert domain["forms"]["leg_check_form"]["required_slots"] == list(leg_check.SLOTS)
    for slot in leg_check.SLOTS:
        assert f"utter_ask_{slot}" in domain["responses"]


def tracker(slots: dict, requested: str) -> Tracker:
    return Tracker.from_dict({
        "sender_id": "check",
        "slots": {**{s: None for s in leg_check.SLOTS}, leg_check.FLAG_SLOT: None, "requested_slot": requested, **slots},
        "latest_message": {"text": str(slots.get(requested)), "intent": {"name": "deny"}, "entities": []},
        "events": [{"event": "slot", "name": requested, "value": slots.get(requested)}],
        "paused": False, "followup_action": None, "active_loop": {"name": "leg_check_form"},
        "latest_action_name": "action_listen",
    })


def validate(slots: dict, requested: str) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateLegCheckForm().get_validation_events(dispatcher, tracker(slots, requested), {}))
    return dispatcher.messages, events


def test_a_no_moves_on():
    messages, events = validate({"check_sudden": "nope"}, "check_sudden")
    assert events == [SlotSet("check_sudden", "no")] and not messages


def test_a_yes_ends_the_check_on_its_flag():
    messages, events = validate({"check_sudden": "no", "check_one_leg_swollen": "yeah a bit swollen"}, "check_one_leg_swollen")
    assert SlotSet(leg_check.FLAG_SLOT, "dvt") in events
    assert SlotSet("check_one_leg_swollen", "yes") in events
    filled = {e["name"] for e in events}
    assert set(leg_check.SLOTS) - {"check_sudden"} <= filled


def test_an_unclear_answer_is_asked_again():
    messages, events = validate({"check_fever": "purple monkey"}, "check_fever")
    assert events == [SlotSet("check_fever", None)]
    assert messages[0]["response"] == "utter_leg_check_unclear"


def run_result(flag: str | None) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    slots = {leg_check.FLAG_SLOT: flag}
    events = asyncio.run(ActionLegCheckResult().run(dispatcher, tracker(slots, "check_sudden"), {}))
    return dispatcher.messages, events


def test_the_result_of_a_yes_is_that_flags_warning():
    messages, events = run_result("osteonecrosis")
    assert [m["response"] for m in messages] == ["utter_red_flag_osteonecrosis"]
    assert SlotSet(leg_check.FLAG_SLOT, None) in events


def test_the_result_of_all_no_is_what_helps_and_the_clinician_steer():
    messages, events = run_result(None)
    text = "\n".join(m["text"] for m in messages)
    for entry_id in leg_check.RESULT_ENTRIES:
        assert KNOWLEDGE[entry_id].answer in text
    assert knowledge.CLINICIAN_PATTERN.search(messages[-1]["text"])
    assert {e["name"] for e in events} == {*leg_check.SLOTS, leg_check.FLAG_SLOT}
