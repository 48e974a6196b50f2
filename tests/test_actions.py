"""The actions, run as the action server runs them: Tracker.from_dict and a CollectingDispatcher."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions.answers import ActionAnswerBodyPart, ActionAnswerSideEffects, ActionAnswerTopic, ActionTellMore
from actions.conversation import ActionGreet, ActionListTopics
from actions.loaded_knowledge import KNOWLEDGE
from pain_assistant import knowledge


def tracker(intent: str, entities: dict[str, str] | None = None, **slots: Any) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": "test",
            "slots": {"current_topic": None, "disclaimer_shown": True, **slots},
            "latest_message": {
                "text": "...",
                "intent": {"name": intent, "confidence": 0.9},
                "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def run(action, tracker_: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_, {}))
    return dispatcher.messages, events


@pytest.mark.parametrize("entry", KNOWLEDGE.entries, ids=lambda e: e.id)
def test_answers_every_entry_and_ends_with_the_clinician(entry):
    messages, events = run(ActionAnswerTopic(), tracker("ask_topic", {"topic": entry.id}))
    assert entry.answer in messages[0]["text"]
    assert messages[-1]["text"] == entry.see_clinician
    titles = [b["title"] for b in messages[-1]["buttons"]]
    offer = ["Check my leg pain"] if entry.offers_leg_check else []
    assert titles == offer + [KNOWLEDGE[r].short_title for r in entry.related]
    assert SlotSet("current_topic", entry.id) in events


def test_a_topic_intent_answers_its_entry():
    messages, _ = run(ActionAnswerTopic(), tracker("ask_leg_pain"))
    assert KNOWLEDGE["leg_pain"].answer in messages[0]["text"]


def test_a_brand_name_answers_the_medicine():
    messages, events = run(ActionAnswerTopic(), tracker("ask_medicine", {"medicine": "tegretol"}))
    assert KNOWLEDGE["carbamazepine"].answer in messages[0]["text"]
    assert SlotSet("current_topic", "carbamazepine") in events


def test_a_medicine_question_without_a_name_asks_which():
    messages, events = run(ActionAnswerTopic(), tracker("ask_medicine", current_topic="ms_hug"))
    assert messages[0]["text"].startswith("Which medicine do you mean?")
    assert len(messages[0]["buttons"]) == len(KNOWLEDGE.medicines)
    assert events == []


def test_the_first_reply_of_a_conversation_opens_with_the_disclaimer():
    messages, events = run(ActionAnswerTopic(), tracker("ask_ms_hug", disclaimer_shown=None))
    assert messages[0]["response"] == "utter_disclaimer"
    assert SlotSet("disclaimer_shown", True) in events
    messages, _ = run(ActionAnswerTopic(), tracker("ask_ms_hug"))
    assert all(m.get("response") != "utter_disclaimer" for m in messages)


def test_greeting_gives_the_disclaimer_once():
    first, events = run(ActionGreet(), tracker("greet", disclaimer_shown=None))
    assert [m["response"] for m in first] == ["utter_disclaimer", "utter_greet"]
    assert SlotSet("disclaimer_shown", True) in events
    again, _ = run(ActionGreet(), tracker("greet"))
    assert [m["response"] for m in again] == ["utter_greet"]


def test_tell_me_more_continues_the_current_topic():
    messages, _ = run(ActionTellMore(), tracker("tell_me_more", current_topic="spasticity"))
    assert KNOWLEDGE["spasticity"].more in messages[0]["text"]
    assert messages[-1]["text"] == KNOWLEDGE["spasticity"].see_clinician


def test_tell_me_more_with_no_topic_offers_topics():
    messages, _ = run(ActionTellMore(), tracker("tell_me_more"))
    assert messages[0]["buttons"]


def test_what_about_my_arms_after_leg_pain():
    messages, events = run(ActionAnswerBodyPart(), tracker("ask_body_part", {"body_part": "arms"}, current_topic="leg_pain"))
    assert "arms too" in messages[0]["text"]
    assert messages[-1]["text"] == KNOWLEDGE["leg_pain"].see_clinician
    assert events == []


def test_what_about_my_face_after_leg_pain_moves_to_face_pain():
    messages, events = run(ActionAnswerBodyPart(), tracker("ask_body_part", {"body_part": "face"}, current_topic="leg_pain"))
    assert KNOWLEDGE["trigeminal_neuralgia"].answer in messages[0]["text"]
    assert SlotSet("current_topic", "trigeminal_neuralgia") in events


def test_is_that_one_drowsy_after_a_medicine():
    messages, _ = run(ActionAnswerSideEffects(), tracker("ask_side_effects", current_topic="gabapentin"))
    assert KNOWLEDGE["gabapentin"].side_effects in messages[0]["text"]
    assert knowledge.CLINICIAN_PATTERN.search(messages[-1]["text"])


def test_side_effects_of_a_named_medicine_switch_the_topic():
    messages, events = run(ActionAnswerSideEffects(), tracker("ask_side_effects", {"medicine": "lyrica"}, current_topic="gabapentin"))
    assert KNOWLEDGE["pregabalin"].side_effects in messages[0]["text"]
    assert SlotSet("current_topic", "pregabalin") in events


def test_help_lists_every_topic():
    messages, _ = run(ActionListTopics(), tracker("help"))
    for entry in KNOWLEDGE.entries:
        assert entry.short_title in messages[0]["text"]


def test_a_button_for_a_topic_that_no_longer_exists_offers_topics():
    messages, events = run(ActionAnswerTopic(), tracker("ask_topic", {"topic": "removed_topic"}))
    assert messages[0]["text"].startswith("Which topic")
    assert messages[0]["buttons"] and events == []


def test_the_action_server_registers_exactly_the_domains_actions(domain):
    executor = ActionExecutor()
    executor.register_package("actions")
    # An action is listed by name, or as {name: {send_domain: true}} when it reads the domain.
    names = {action if isinstance(action, str) else next(iter(action)) for action in domain["actions"]}
    assert set(executor.actions) == names
