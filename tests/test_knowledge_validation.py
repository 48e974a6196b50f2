"""A broken knowledge file is refused, with a message naming the entry and the field."""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
import sys

import pytest
import yaml

from pain_assistant import knowledge

TODAY = dt.date(2026, 11, 24)
GOOD = yaml.safe_load(knowledge.DEFAULT_KNOWLEDGE_FILE.read_text())


def broken(change) -> dict:
    document = copy.deepcopy(GOOD)
    change(document["entries"])
    return document


def problems_of(document: dict) -> list[str]:
    with pytest.raises(knowledge.KnowledgeError) as raised:
        knowledge.parse(document, knowledge.DEFAULT_KNOWLEDGE_FILE, TODAY)
    return raised.value.problems


def entry(entries, entry_id):
    return next(e for e in entries if e["id"] == entry_id)


CASES = {
    "missing field": (lambda es: entry(es, "ms_hug").pop("see_clinician"), "entry 'ms_hug': field 'see_clinician': missing"),
    "empty answer": (lambda es: entry(es, "ms_hug").update(answer="  "), "entry 'ms_hug': field 'answer': must be non-empty text"),
    "unknown related id": (lambda es: entry(es, "ms_hug").update(related=["ms_hugs"]), "entry 'ms_hug': field 'related': unknown entry id 'ms_hugs'"),
    "related to itself": (lambda es: entry(es, "ms_hug").update(related=["ms_hug"]), "entry 'ms_hug': field 'related': lists the entry itself"),
    "bad date": (lambda es: entry(es, "ms_hug").update(reviewed="2026-13-45"), "entry 'ms_hug': field 'reviewed': '2026-13-45' is not a date"),
    "future date": (lambda es: entry(es, "ms_hug").update(reviewed=dt.date(2027, 1, 1)), "entry 'ms_hug': field 'reviewed': 2027-01-01 is in the future"),
    "duplicate id": (lambda es: es.append(copy.deepcopy(entry(es, "ms_hug"))), "entry 'ms_hug': field 'id': duplicate id"),
    "dose in text": (lambda es: entry(es, "baclofen").update(side_effects="Take 10 mg."), "entry 'baclofen': field 'side_effects': holds a dose ('10 mg')"),
    "emergency number": (lambda es: entry(es, "headache").update(more="Call 911."), "entry 'headache': field 'more': holds an emergency number"),
    "long button title": (lambda es: entry(es, "ms_hug").update(short_title="The famous MS hug feeling"), "entry 'ms_hug': field 'short_title': 25 characters, at most 20"),
    "medicine without brands": (lambda es: entry(es, "baclofen").pop("brand_names"), "entry 'baclofen': field 'brand_names': missing"),
    "unknown field": (lambda es: entry(es, "ms_hug").update(anwser="x"), "entry 'ms_hug': field 'anwser': unknown field"),
    "source without url": (lambda es: entry(es, "ms_hug")["sources"][0].pop("url"), "entry 'ms_hug': field 'sources' #1: missing url"),
    "no clinician named": (lambda es: entry(es, "ms_hug").update(see_clinician="Rest a while."), "entry 'ms_hug': field 'see_clinician': must say whom to contact"),
    "unknown body part": (lambda es: entry(es, "ms_hug").update(body_parts=["elbow"]), "entry 'ms_hug': field 'body_parts': 'elbow' is not one of"),
    "entry without id": (lambda es: es[0].pop("id"), "entry #1: field 'id': missing"),
}


@pytest.mark.parametrize("name", CASES)
def test_names_the_entry_and_field(name):
    change, expected = CASES[name]
    problems = problems_of(broken(change))
    assert any(p.startswith(expected) for p in problems), problems


def test_reports_every_problem_at_once():
    def two_problems(entries):
        entry(entries, "ms_hug").pop("title")
        entry(entries, "baclofen").update(related=["nowhere"])

    problems = problems_of(broken(two_problems))
    assert len(problems) == 2, problems


def test_refuses_a_file_that_is_not_yaml(tmp_path):
    path = tmp_path / "ms_pain.yml"
    path.write_text("entries:\n  - id: x\n   title: [unclosed\n")
    with pytest.raises(knowledge.KnowledgeError, match="not valid YAML"):
        knowledge.load(path)


def test_the_real_file_is_valid(knowledge_base):
    assert len(knowledge_base.entries) >= 28


def test_check_knowledge_command_fails_on_a_broken_file(tmp_path):
    path = tmp_path / "ms_pain.yml"
    path.write_text(yaml.safe_dump(broken(lambda es: entry(es, "ms_hug").update(answer=""))))
    result = subprocess.run(
        [sys.executable, "-m", "pain_assistant.check_knowledge", str(path)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 1
    assert "entry 'ms_hug': field 'answer'" in result.stderr


def test_check_knowledge_command_passes_the_real_file():
    result = subprocess.run(
        [sys.executable, "-m", "pain_assistant.check_knowledge"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
