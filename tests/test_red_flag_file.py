"""The red-flag and regions files: validation names the flag and field; regions fill every reply."""

from __future__ import annotations

import copy
import datetime as dt
import re

import pytest
import yaml

from pain_assistant import knowledge, red_flags, render_safety
from pain_assistant.validation import KnowledgeError

TODAY = dt.date(2026, 12, 3)
GOOD = yaml.safe_load(red_flags.DEFAULT_RED_FLAGS_FILE.read_text())
REGIONS = yaml.safe_load(red_flags.DEFAULT_REGIONS_FILE.read_text())
NUMBERS = red_flags.load_region(red_flags.DEFAULT_REGIONS_FILE, "us")


def problems_of(change) -> list[str]:
    document = copy.deepcopy(GOOD)
    change(document)
    with pytest.raises(KnowledgeError) as raised:
        red_flags.parse(document, red_flags.DEFAULT_RED_FLAGS_FILE, NUMBERS, TODAY)
    return raised.value.problems


def flag(document, flag_id):
    return next(f for f in document["flags"] if f["id"] == flag_id)


CASES = {
    "missing reply": (lambda d: flag(d, "dvt").pop("reply"), "flag 'dvt': field 'reply': must be non-empty text"),
    "bad severity": (lambda d: flag(d, "dvt").update(severity="soon"), "flag 'dvt': field 'severity': must be one of"),
    "unknown term": (lambda d: flag(d, "dvt")["patterns"].append("{legg} + hot"), "flag 'dvt': field 'patterns' #9: unknown term '{legg}'"),
    "bad word": (lambda d: flag(d, "dvt")["patterns"].append("Swollen!"), "flag 'dvt': field 'patterns' #9: 'Swollen!' is not"),
    "no patterns": (lambda d: flag(d, "dvt").update(patterns=[]), "flag 'dvt': field 'patterns': must list at least one"),
    "duplicate id": (lambda d: d["flags"].append(copy.deepcopy(flag(d, "dvt"))), "flag 'dvt': field 'id': duplicate id"),
    "bad date": (lambda d: flag(d, "dvt").update(reviewed="someday"), "flag 'dvt': field 'reviewed': 'someday' is not a date"),
    "no sources": (lambda d: flag(d, "dvt").update(sources=[]), "flag 'dvt': field 'sources': must list at least one"),
    "emergency without number": (lambda d: flag(d, "stroke").update(reply="Get help."), "flag 'stroke': field 'reply': must say whom to call with {emergency_number}"),
    "crisis without line": (lambda d: flag(d, "suicidal_thoughts").update(reply="Call {emergency_number}."), "flag 'suicidal_thoughts': field 'reply': must say whom to call with {crisis_line}"),
    "urgent with emergency number": (lambda d: flag(d, "dvt").update(reply="See {urgent_care} or call {emergency_number}."), "flag 'dvt': field 'reply': an urgent reply must not carry the emergency number"),
    "unknown placeholder": (lambda d: flag(d, "dvt").update(reply="Call {doctor}."), "flag 'dvt': field 'reply': unknown placeholder(s) doctor"),
    "unknown field": (lambda d: flag(d, "dvt").update(pattern=["x"]), "flag 'dvt': field 'pattern': unknown field"),
    "bare no in context": (lambda d: d["context"]["rules"][0]["phrases"].append(False), "context: rule #1: 'phrases': must list {terms} or phrases of plain lowercase words"),
    "apostrophe in context": (lambda d: d["context"]["rules"][0]["unless"].append("haven't"), "context: rule #1: 'unless': must list {terms} or phrases of plain lowercase words"),
    "unknown term in context": (lambda d: d["context"]["rules"][0]["of"].append("{fevr}"), "context: rule #1: 'of': unknown term '{fevr}'"),
    "a pattern as what a rule modifies": (lambda d: d["context"]["rules"][0]["of"].append("chest + pain"), "context: rule #1: 'of': must list words, phrases or {terms}"),
    "unknown category": (lambda d: d["context"]["rules"][0].update(category="denied"), "context: rule #1: 'category': must be one of negated, historical, hypothetical, other_person"),
    "unknown direction": (lambda d: d["context"]["rules"][0].update(direction="left"), "context: rule #1: 'direction': must be one of forward, backward, bidirectional"),
    "scope too wide": (lambda d: d["context"]["rules"][0].update(scope=100), "context: rule #1: 'scope': must be a whole number of words from 1 to 30"),
    "no phrases": (lambda d: d["context"]["rules"][0].update(phrases=[]), "context: rule #1: 'phrases': must list the words"),
    "unknown rule field": (lambda d: d["context"]["rules"][0].update(reach=3), "context: rule #1: 'reach': unknown field"),
    "within_clause not a boolean": (lambda d: d["context"]["rules"][0].update(within_clause="yes"), "context: rule #1: 'within_clause': must be true or false"),
    "unknown term in terminate": (lambda d: d["context"]["terminate"].append("{sudenly}"), "context: 'terminate': unknown term '{sudenly}'"),
    "no rules": (lambda d: d["context"].update(rules=[]), "context: 'rules': must list at least one rule"),
    "unknown context field": (lambda d: d["context"].update(negation=["x"]), "context: 'negation': unknown field"),
    "context not a mapping": (lambda d: d.update(context=["no"]), "context: must map terminate and rules"),
    "term before its part": (lambda d: d["terms"].update(leg=["{swollen}"]), "term 'leg': '{swollen}' is not a term listed above it"),
    "unknown top-level field": (lambda d: d.update(contxt=d.pop("context")), "'contxt': unknown top-level field"),
    "an empty part": (lambda d: flag(d, "dvt")["patterns"].append("{leg} ... |hot"), "flag 'dvt': field 'patterns' #9: an empty phrase"),
    "no checks": (lambda d: d.pop("checks"), "checks: must map crisis, now to the question's text"),
    "a check missing": (lambda d: d["checks"].pop("now"), "checks: 'now': must be non-empty text"),
    "unknown check": (lambda d: d["checks"].update(later="Later?"), "checks: 'later': unknown field"),
    "now check without the number": (lambda d: d["checks"].update(now="Is this happening now?"), "checks: 'now': must say whom to call with {emergency_number}"),
    "crisis check without the line": (lambda d: d["checks"].update(crisis="Call {crisis_line} now."), "checks: 'crisis': must say whom to call with {crisis_line_short}"),
}


PROJECT_DOMAIN = yaml.safe_load((knowledge.PROJECT_ROOT / "domain.yml").read_text())


def reply(domain: dict, name: str) -> str:
    return domain["responses"][name][0]["text"]


@pytest.mark.parametrize("name, text, problem", [
    ("utter_human_handoff", "Call {helpline}, or {emergency_number}.", "utter_human_handoff: it must not carry the emergency number"),
    ("utter_human_handoff", "Ask your doctor.", "utter_human_handoff: must say whom to call with {helpline}"),
    ("utter_disclaimer", "I'm not a doctor.", "utter_disclaimer: must say whom to call with {emergency_number}"),
    ("utter_disclaimer", "Call {emergency_numbr}.", "utter_disclaimer: unknown placeholder"),
])
def test_the_domains_regional_replies_must_name_whom_to_call_and_only_that(name, text, problem):
    domain = copy.deepcopy(PROJECT_DOMAIN)
    domain["responses"][name] = [{"text": text}]
    with pytest.raises(KnowledgeError, match=re.escape(problem)):
        render_safety.regional_domain(domain, NUMBERS, knowledge.PROJECT_ROOT / "domain.yml")


def parse(document):
    return red_flags.parse(document, red_flags.DEFAULT_RED_FLAGS_FILE, NUMBERS, TODAY)


def test_a_term_may_be_built_on_one_listed_above_it():
    """{pills} is built on {meds}: a medicine added to {meds} is one to overdose on too."""
    document = copy.deepcopy(GOOD)
    document["terms"]["meds"].append("wonderpill")
    message = "I took 30 wonderpill at once"
    assert "overdose" in [d.flag.id for d in parse(document).detect(message)]
    assert "overdose" not in [d.flag.id for d in red_flags.load().detect(message)]


def test_without_a_context_section_every_match_counts():
    document = copy.deepcopy(GOOD)
    del document["context"]
    detector = parse(document)
    for message, flag_id in [("no chest pain", "pulmonary_embolism"), ("fell last year and broke my wrist, its healed now", "serious_fall"),
                             ("what are the signs of a stroke?", "stroke")]:
        assert [d.flag.id for d in detector.detect(message)] == [flag_id], message
        assert red_flags.load().detect(message) == [], message


def test_context_never_holds_back_a_crisis_and_records_what_it_found():
    """Someone who says they are not suicidal may still need the line: whatever an editor adds."""
    document = copy.deepcopy(GOOD)
    rules = document["context"]["rules"]
    rules[0]["of"].append("suicid*")
    rules.append({"category": "historical", "direction": "backward", "scope": 5, "phrases": ["better"]})
    detector = parse(document)
    [denied] = detector.detect("no suicidal thoughts")
    assert denied.flag.id == "suicidal_thoughts" and "negated" in denied.context
    assert [d.flag.id for d in detector.detect("i wanted to end it all last year, better")] == ["suicidal_thoughts"]


def test_a_denial_inside_a_part_is_that_part_not_a_denial():
    """"no control" and "could not breathe" say "no" and "not" themselves: a rule listing control or
    breathing under `of` still does not deny them."""
    document = copy.deepcopy(GOOD)
    document["context"]["rules"][0]["of"] += ["control", "breath*"]
    detector = parse(document)
    for message, flag_id in [("no control over my bladder", "cauda_equina"), ("i could not breathe", "pulmonary_embolism")]:
        assert flag_id in [d.flag.id for d in detector.detect(message)], message


def test_a_pattern_s_parts_never_share_a_word():
    document = copy.deepcopy(GOOD)
    document["terms"]["now_words"] = ["right now"]
    flag(document, "stroke")["patterns"].append("{now_words} + right")
    detector = parse(document)
    assert detector.detect("right now") == []
    assert [d.flag.id for d in detector.detect("right now, right")] == ["stroke"]


def test_a_term_slot_is_shared_and_a_part_written_twice_is_one():
    """A message is searched once for each term and each part, however many patterns use it."""
    detector = red_flags.load()
    fever_parts = [part for f in detector.flags for p in f.patterns for part, source in zip(p.parts, re.split(r" \+ | \.\.\. ", p.source))
                   if source == "{fever}"]
    assert len(fever_parts) > 1 and len({id(part) for part in fever_parts}) == 1


@pytest.mark.parametrize("name", CASES)
def test_names_the_flag_and_field(name):
    change, expected = CASES[name]
    problems = problems_of(change)
    assert any(p.startswith(expected) for p in problems), problems


def test_an_unknown_region_is_refused():
    with pytest.raises(KnowledgeError, match="region 'mars' is not defined"):
        red_flags.load(region="mars")


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_every_region_fills_every_reply(region):
    detector = red_flags.load(region=region)
    numbers = REGIONS[region]
    domain = render_safety.rendered_domain(region)
    assert numbers["emergency_number"] in reply(domain, "utter_disclaimer")
    assert numbers["helpline"] in reply(domain, "utter_human_handoff")
    for f in detector.flags:
        assert "{" not in f.reply, f.id
        if f.severity in ("emergency", "crisis"):
            assert numbers["emergency_number"] in f.reply, f.id
        if f.severity == "crisis":
            assert numbers["crisis_line"] in f.reply
        if f.severity == "urgent":
            assert numbers["urgent_care"] in f.reply


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_every_regions_check_questions_name_the_number_in_one_short_line(region):
    checks = red_flags.load(region=region).checks
    numbers = REGIONS[region]
    assert set(checks) == set(red_flags.CHECKS) == set(render_safety.CHECK_BUTTONS)
    assert checks["now"].endswith(f"If it is, call {numbers['emergency_number']}.")
    assert checks["crisis"].endswith(f"If you are, {numbers['crisis_line_short']} now.")
    assert all(text.startswith("Before I answer: ") and text.count("?") == 1 for text in checks.values())
    assert len(numbers["crisis_line_short"]) <= 70


def test_the_uk_gets_uk_numbers_only():
    detector = red_flags.load(region="uk")
    disclaimer = reply(render_safety.rendered_domain("uk"), "utter_disclaimer")
    texts = [disclaimer] + [f.reply for f in detector.flags] + list(detector.checks.values())
    assert all("911" not in text and "988" not in text for text in texts)
    assert "999" in disclaimer and any("116 123" in text for text in texts)


def all_emergency_numbers() -> re.Pattern:
    numbers = {region["emergency_number"] for region in REGIONS.values()}
    return re.compile(r"(?<!\d)(?:" + "|".join(map(re.escape, numbers)) + r")(?!\d)")


def test_the_emergency_number_appears_only_in_emergency_and_crisis_replies_check_questions_and_the_disclaimer():
    """Safety rule 5, over every text the assistant can send: domain responses and knowledge. Of
    the check-in questions, "is this happening now?" names it; the crisis one names the crisis line."""
    numbers = all_emergency_numbers()
    for region in REGIONS:
        responses = {**render_safety.safety_domain(red_flags.load(region=region))["responses"],
                     **render_safety.rendered_domain(region)["responses"]}
        allowed = {"utter_disclaimer", render_safety.check_response_name("now")} | {
            render_safety.response_name(f.id) for f in red_flags.load(region=region).flags if f.severity != "urgent"
        }
        for name, variants in responses.items():
            for variant in variants:
                assert (name in allowed) == bool(numbers.search(variant.get("text", ""))), (region, name)
    for entry in knowledge.load().entries:
        for text in (entry.answer, entry.more or "", entry.see_clinician, entry.side_effects or ""):
            assert not numbers.search(text), entry.id


def test_rendered_rules_pick_each_flags_reply(tmp_path):
    render_safety.render("uk", tmp_path)
    domain = yaml.safe_load((tmp_path / "domain" / "safety.yml").read_text())
    rules = yaml.safe_load((tmp_path / "data" / "safety_rules.yml").read_text())["rules"]
    flags = red_flags.load(region="uk").flags
    assert domain["slots"]["red_flag"]["values"] == [f.id for f in flags]
    for f, rule in zip(flags, rules):
        assert rule["steps"] == [
            {"intent": "red_flag"},
            {"slot_was_set": [{"red_flag": f.id}]},
            {"action": f"utter_red_flag_{f.id}"},
        ]
        assert domain["responses"][f"utter_red_flag_{f.id}"][0]["text"] == f.reply
    rendered = yaml.safe_load((tmp_path / "domain" / "domain.yml").read_text())
    assert rendered == render_safety.rendered_domain("uk") and "999" in reply(rendered, "utter_disclaimer")


def test_check_questions_offer_yes_no_and_not_sure_buttons():
    domain = render_safety.safety_domain(red_flags.load(region="uk"))
    assert "red_flag_check" in domain["intents"]
    for kind, titles in {"crisis": ["Yes", "No", "Not sure"], "now": ["Yes, now", "No, it was in the past", "Not sure"]}.items():
        [response] = domain["responses"][f"utter_red_flag_check_{kind}"]
        assert [b["title"] for b in response["buttons"]] == titles
        assert [b["payload"] for b in response["buttons"]] == ["/affirm", "/deny", "/not_sure"]


def test_rendered_rules_ask_each_suspected_flags_check_question_also_during_the_form(tmp_path):
    render_safety.render("uk", tmp_path)
    rules = {rule["rule"]: rule for rule in yaml.safe_load((tmp_path / "data" / "safety_rules.yml").read_text())["rules"]}
    for f in red_flags.load(region="uk").flags:
        asked = [
            {"intent": "red_flag_check"},
            {"slot_was_set": [{"red_flag": f.id}]},
            {"action": "utter_red_flag_check_crisis" if f.severity == "crisis" else "utter_red_flag_check_now"},
        ]
        assert rules[f"red flag check: {f.id}"] == {"rule": f"red flag check: {f.id}", "steps": asked}
        during = rules[f"red flag check during leg_check_form: {f.id}"]
        assert during["condition"] == [{"active_loop": "leg_check_form"}]
        assert during["steps"] == asked + [{"action": "action_deactivate_loop"}, {"active_loop": None}]
        assert rules[f"red flag during leg_check_form: {f.id}"]["steps"][-2:] == during["steps"][-2:]
    assert len(rules) == 4 * len(red_flags.load(region="uk").flags)
