"""Lookup and reply composition, without Rasa: every entry, every follow-up path."""

from __future__ import annotations

import json

import pytest

from pain_assistant import knowledge, replies, topics
from pain_assistant.dosing import find_dose

BASE = knowledge.load(knowledge.DEFAULT_KNOWLEDGE_FILE)


def payload_topic(button: replies.Button) -> str:
    assert button.payload.startswith(f"/{replies.TOPIC_INTENT}{{")
    return json.loads(button.payload[len(replies.TOPIC_INTENT) + 1:])[replies.TOPIC_ENTITY]


@pytest.mark.parametrize("entry", BASE.entries, ids=lambda e: e.id)
def test_every_answer_ends_with_the_clinician_steer_and_offers_related_topics(entry):
    for messages in (replies.answer(entry, BASE), replies.more(entry, BASE)):
        last = messages[-1]
        assert last.text == entry.see_clinician
        assert knowledge.CLINICIAN_PATTERN.search(last.text)
        topic_buttons = [b for b in last.buttons if b.payload != replies.LEG_CHECK_PAYLOAD]
        assert [payload_topic(b) for b in topic_buttons] == list(entry.related)
        assert (len(topic_buttons) < len(last.buttons)) == entry.offers_leg_check
        assert all(find_dose(m.text) is None for m in messages)
        assert all(not knowledge.EMERGENCY_NUMBER_PATTERN.search(m.text) for m in messages)
    assert entry.answer in replies.answer(entry, BASE)[0].text
    assert entry.sources[0].publisher in replies.answer(entry, BASE)[0].text


@pytest.mark.parametrize("medicine", BASE.medicines, ids=lambda e: e.id)
def test_side_effects_come_from_the_entry_and_steer_to_the_prescriber(medicine):
    messages = replies.side_effects(medicine, BASE)
    assert medicine.side_effects in messages[0].text
    assert messages[-1].text == medicine.see_clinician
    assert find_dose(" ".join(m.text for m in messages)) is None


@pytest.mark.parametrize("entry", BASE.entries, ids=lambda e: e.id)
def test_topic_buttons_resolve_to_their_entry(entry):
    button = replies.topic_button(entry)
    found = topics.resolve(replies.TOPIC_INTENT, {"topic": [payload_topic(button)]}, BASE)
    assert found.entry is entry
    assert len(button.title) <= knowledge.SHORT_TITLE_MAX


@pytest.mark.parametrize("topic", BASE.topics, ids=lambda e: e.id)
def test_topic_intents_resolve_to_their_entry(topic):
    assert topics.resolve(f"ask_{topic.id}", {}, BASE).entry is topic


@pytest.mark.parametrize(
    "name, expected",
    [("gabapentin", "gabapentin"), ("Neurontin", "gabapentin"), ("lyrica", "pregabalin"),
     ("TEGRETOL", "carbamazepine"), ("zanaflex", "tizanidine"), ("Lioresal", "baclofen"),
     ("valium", "diazepam"), ("klonopin", "clonazepam"), ("Cymbalta", "antidepressants")],
)
def test_medicine_questions_find_the_medicine_by_any_name(name, expected):
    assert topics.resolve(topics.MEDICINE_INTENT, {"medicine": [name]}, BASE).entry.id == expected


def test_an_unknown_medicine_is_named_not_guessed():
    found = topics.resolve(topics.MEDICINE_INTENT, {"medicine": ["ocrevus"]}, BASE, current_topic="baclofen")
    assert found.entry is None and found.unknown_medicine == "ocrevus"
    text = replies.choose_medicine(BASE, found.unknown_medicine)[0].text
    assert "I don't have information about ocrevus" in text


def test_a_medicine_follow_up_uses_the_medicine_just_discussed():
    assert topics.resolve_medicine({}, BASE, current_topic="gabapentin").entry.id == "gabapentin"
    found = topics.resolve_medicine({}, BASE, current_topic="ms_hug")
    assert found.entry is None and found.medicine_missing


def test_a_body_part_the_current_topic_covers_is_answered_in_that_topic():
    entry, covered = topics.entry_for_body_part("arms", BASE, current_topic="leg_pain")
    assert entry.id == "leg_pain" and covered
    text = replies.body_part_also(entry, "arms", BASE)[0].text
    assert "arms" in text


def test_a_body_part_the_current_topic_lacks_gets_its_own_topic():
    entry, covered = topics.entry_for_body_part("face", BASE, current_topic="leg_pain")
    assert entry.id == "trigeminal_neuralgia" and not covered


def test_tell_me_more_without_more_text_points_to_related_topics():
    entry = BASE["ms_hug"]
    bare = knowledge.Entry(**{**entry.__dict__, "more": None})
    messages = replies.more(bare, BASE)
    assert "That is all I have" in messages[0].text
    assert messages[-1].text == entry.see_clinician


def test_the_topic_list_names_every_entry():
    text = replies.topic_list(BASE)[0].text
    for entry in BASE.entries:
        assert entry.short_title in text
