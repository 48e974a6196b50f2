"""The actions, run as the action server runs them: Tracker.from_dict and a CollectingDispatcher."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions.answers import (
    ActionAnswerBodyPart,
    ActionAnswerHeldQuestion,
    ActionAnswerSideEffects,
    ActionAnswerTopic,
    ActionTellMore,
)
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


def user_event(intent: str, ranking: list[str], entities: dict[str, str] | None = None) -> dict:
    """A message as the tracker store holds it: the intent, then the ranking with confidences."""
    return {
        "event": "user",
        "text": "...",
        "parse_data": {
            "intent": {"name": intent, "confidence": 1.0},
            "intent_ranking": [{"name": name, "confidence": 1.0 - 0.1 * at} for at, name in enumerate(ranking)],
            "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
        },
    }


def after_check(*held: dict, **slots: Any) -> Tracker:
    """The messages `held`, each followed by a check-in question, then "No"."""
    events = []
    for message in held:
        events += [message, {"event": "action", "name": "utter_red_flag_check_now"}, {"event": "action", "name": "action_listen"}]
    answer = tracker("deny", **slots)
    return Tracker.from_dict({**answer.current_state(), "events": events + [user_event("deny", ["deny"])]})


def test_no_to_a_check_answers_the_question_held_back_as_a_topic_question_would_be():
    held = user_event("red_flag_check", ["red_flag_check", "ask_leg_pain", "ask_spasticity"], {"red_flag": "dvt"})
    messages, events = run(ActionAnswerHeldQuestion(), after_check(held))
    assert (messages, events) == run(ActionAnswerTopic(), tracker("ask_leg_pain", {"red_flag": "dvt"}))
    assert KNOWLEDGE["leg_pain"].answer in messages[0]["text"]
    assert SlotSet("current_topic", "leg_pain") in events


def test_the_held_question_keeps_its_entities():
    held = user_event("red_flag_check", ["red_flag_check", "ask_medicine"], {"medicine": "lyrica", "red_flag": "dvt"})
    messages, events = run(ActionAnswerHeldQuestion(), after_check(held))
    assert KNOWLEDGE["pregabalin"].answer in messages[0]["text"]
    assert SlotSet("current_topic", "pregabalin") in events


def test_the_latest_check_decides_which_question_is_answered():
    earlier = user_event("red_flag_check", ["red_flag_check", "ask_ms_hug"], {"red_flag": "dvt"})
    latest = user_event("red_flag_check", ["red_flag_check", "ask_spasticity"], {"red_flag": "dvt"})
    messages, _ = run(ActionAnswerHeldQuestion(), after_check(earlier, latest))
    assert KNOWLEDGE["spasticity"].answer in messages[0]["text"]


def test_with_no_check_in_the_conversation_it_offers_topics():
    messages, events = run(ActionAnswerHeldQuestion(), after_check())
    assert messages[0]["text"].startswith("Which topic") and messages[0]["buttons"]
    assert events == []
