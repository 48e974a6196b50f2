"""Every entry of the real knowledge file, read and checked: coverage, reading level, safety."""

from __future__ import annotations

import re

import pytest
import textstat

from pain_assistant import knowledge
from pain_assistant.dosing import find_dose

MAX_GRADE = 8.0
ENTRIES = knowledge.load(knowledge.DEFAULT_KNOWLEDGE_FILE).entries

# Every topic of the source article and issue, by entry id.
REQUIRED_TOPICS = {
    "pain_in_ms", "pain_types", "paresthesia", "dysesthesia", "ms_hug", "trigeminal_neuralgia",
    "lhermitte_sign", "optic_neuritis", "paroxysmal_pain", "headache", "musculoskeletal_pain",
    "back_pain", "leg_pain", "neuropathic_pain_treatment", "spasticity_treatment",
    "musculoskeletal_pain_treatment", "other_causes_leg_pain", "osteonecrosis", "talking_to_doctor",
}
# Every medicine the article names, with a brand name people use for it.
REQUIRED_MEDICINES = {
    "gabapentin": "Neurontin", "pregabalin": "Lyrica", "carbamazepine": "Tegretol",
    "tizanidine": "Zanaflex", "clonazepam": "Klonopin", "baclofen": "Lioresal",
    "diazepam": "Valium", "antidepressants": "Cymbalta",
}
# Telling someone what they have is a diagnosis; "if you have MS" is not.
DIAGNOSIS = (
    r"\byou(?: probably| likely| definitely)? (?:have|'ve got|’ve got) (?:a |an )?"
    r"(?:osteonecrosis|trigeminal|optic neuritis|spasticity|blood clot|dvt|clot|relapse|infection|neuropathic)"
)


def entry_texts(entry: knowledge.Entry) -> dict[str, str]:
    fields = ("title", "answer", "more", "see_clinician", "side_effects")
    return {f: getattr(entry, f) for f in fields if getattr(entry, f)}


def test_covers_every_topic_of_the_source_article(knowledge_base):
    assert REQUIRED_TOPICS <= {e.id for e in knowledge_base.topics}


@pytest.mark.parametrize("medicine, brand", sorted(REQUIRED_MEDICINES.items()))
def test_has_an_entry_for_each_medicine_with_its_brand_name(knowledge_base, medicine, brand):
    entry = knowledge_base.get(medicine)
    assert entry is not None and entry.is_medicine
    assert brand in entry.brand_names
    assert re.search(r"prescriber|pharmacist", entry.answer, re.IGNORECASE)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_reads_at_grade_eight_or_below(entry):
    for field in ("answer", "more", "see_clinician", "side_effects"):
        text = getattr(entry, field)
        if text:
            grade = textstat.flesch_kincaid_grade(text)
            assert grade <= MAX_GRADE, f"{entry.id}.{field} reads at grade {grade}"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_answer_is_in_short_paragraphs(entry):
    paragraphs = [p for p in entry.answer.split("\n\n") if p.strip()]
    assert 1 <= len(paragraphs) <= 5
    for paragraph in paragraphs:
        assert len(paragraph.split()) <= 80, f"{entry.id}: a paragraph of {len(paragraph.split())} words"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_holds_no_dose_emergency_number_or_diagnosis(entry):
    for field, text in entry_texts(entry).items():
        assert find_dose(text) is None, f"{entry.id}.{field}: {find_dose(text)}"
        assert not knowledge.EMERGENCY_NUMBER_PATTERN.search(text), f"{entry.id}.{field}"
        assert not re.search(DIAGNOSIS, text, re.I)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_is_cited_and_reviewed(entry):
    assert entry.sources
    for source in entry.sources:
        assert source.url.startswith("https://"), f"{entry.id}: {source.url}"
    assert entry.reviewed.year >= 2026
    assert knowledge.CLINICIAN_PATTERN.search(entry.see_clinician)


def test_every_body_part_has_a_topic(knowledge_base):
    for body_part in knowledge.BODY_PARTS:
        assert knowledge_base.topic_for_body_part(body_part) is not None, body_part
