"""The trained model on messages it never saw: the held-out set, misspelt medicines, carers' words."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from pain_assistant.render_safety import CHECK_INTENT, RED_FLAG_INTENT

ROOT = Path(__file__).resolve().parent.parent
MIN_ACCURACY = 0.9


def test_intent_accuracy_on_the_held_out_set(parse):
    """The classifier's accuracy, leaving out messages the safety component overrides by design
    (a red flag, such as hip pain after steroids, gets the warning or a check question instead of the topic)."""
    examples = load_data(str(ROOT / "tests" / "nlu_test.yml")).intent_examples
    misses = Counter()
    overridden = 0
    for example in examples:
        predicted = parse(example.get("text"))["intent"]["name"]
        if predicted in (RED_FLAG_INTENT, CHECK_INTENT):
            overridden += 1
        elif predicted != example.get("intent"):
            misses[f"{example.get('intent')} -> {predicted}"] += 1
    scored = len(examples) - overridden
    accuracy = 1 - sum(misses.values()) / scored
    print(f"held-out intent accuracy: {accuracy:.3f} on {scored} messages ({overridden} red flags); misses: {dict(misses)}")
    assert accuracy >= MIN_ACCURACY, misses


@pytest.mark.parametrize(
    "text, medicine",
    [
        ("is gabbentine any good for burning feet", "gabapentin"),
        ("what is neurontin", "gabapentin"),
        ("my neuro wants me on lyrica, what is it for", "pregabalin"),
        ("tegretol for face pain?", "carbamazepine"),
        ("what does zanaflex do", "tizanidine"),
        ("what is lioresal used for", "baclofen"),
        ("what is valium used for in ms", "diazepam"),
        ("why would they give klonopin for nerve pain", "clonazepam"),
        ("what is baclophen", "baclofen"),
    ],
)
def test_medicine_names_map_to_one_canonical_value(parse, text, medicine):
    result = parse(text)
    values = {e["value"] for e in result["entities"] if e["entity"] == "medicine"}
    assert values == {medicine}, result["entities"]
    assert result["intent"]["name"] == "ask_medicine"


@pytest.mark.parametrize(
    "text, intent",
    [
        ("my feet burn at night", "ask_paresthesia"),
        ("like water dripping down my leg but its dry", "ask_dysesthesia"),
        ("my husband has ms and says his chest feels squeezed by a tight band", "ask_ms_hug"),
        ("why do my legs hurt", "ask_leg_pain"),
        ("can you book me in with my neurologist", "out_of_scope"),
        ("how many mg of baclofen should i take", "ask_dose"),
        ("can i just stop my gabapentin", "ask_dose"),
        ("my legs hurt like always, and now one calf is swollen and hot", "red_flag"),
    ],
)
def test_feelings_described_in_everyday_words(parse, text, intent):
    assert parse(text)["intent"]["name"] == intent


def test_red_flags_become_entities_with_the_most_severe_last(parse):
    """Rasa fills the red_flag slot from the last entity: that must be the most severe flag."""
    result = parse("my calf is swollen and now my chest hurts")
    flags = [e["value"] for e in result["entities"] if e["entity"] == "red_flag"]
    assert flags == ["dvt", "pulmonary_embolism"]
    assert result["intent"] == {"name": "red_flag", "confidence": 1.0}
