"""Red flags: every phrasing in the safety sets caught, ordinary messages left alone.

The sets are `knowledge/red_flag_examples/red_flag_phrasings.yml` (written to tune the patterns),
`red_flag_holdout.yml` (written apart from the patterns, to measure them), and
`red_flag_fresh.yml` and `red_flag_blind2.yml` to `red_flag_blind10.yml` (each written blind,
measured once, then fixed: their blind figures are in scripts/evaluate.py), and
`obfuscated.yml` (crisis, stroke and overdose spelled to slip past a word matcher: zero-width
characters, look-alike letters, leetspeak, tags... read through `pain_assistant.normalise`).
Recall and the false-alarm rate are printed at the end of the pytest run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pain_assistant import incoming, red_flags
from pain_assistant.normalise import normalise
from pain_assistant.red_flag_examples import EXAMPLES_DIR as SAFETY, LOUD, OBFUSCATED, TUNING_SETS, is_false_alarm, load_set

SETS = TUNING_SETS
DETECTOR = red_flags.load()


POSITIVES = [(name, flag, message) for name in SETS for flag, message in load_set(name)[0]]
ORDINARY = [(name, message, borderline) for name in SETS for message, borderline in load_set(name)[1]]


def test_the_sets_cover_every_flag_many_times():
    assert len(POSITIVES) + len(ORDINARY) >= 150
    for flag in DETECTOR.flags:
        assert sum(1 for _, f, _ in POSITIVES if f == flag.id) >= 10, flag.id
    assert {f for _, f, _ in POSITIVES} == {flag.id for flag in DETECTOR.flags}


# Positives the lexicon gave up for precision, each for a reason; the learned classifier judges
# them too. Strict: one caught again is taken off the list.
LOST_BY_DESIGN = {
    # A day of the week is not a duration (it made "felt weak on Monday" a relapse); here the
    # duration is Monday to "Thursday now".
    "I woke up on Monday with a numb patch on the left side of my tummy and it has spread down to my leg, it's "
    "Thursday now. My last flare was 2 years ago. Otherwise I feel well.",
}


@pytest.mark.parametrize(
    "set_name, flag_id, message",
    [
        pytest.param(*positive, marks=pytest.mark.xfail(strict=True, reason="lost by design")) if positive[2] in LOST_BY_DESIGN
        else positive
        for positive in POSITIVES
    ],
)
def test_every_phrasing_raises_its_flag(set_name, flag_id, message):
    found = [d.flag.id for d in DETECTOR.detect(message)]
    assert flag_id in found, f"missed {flag_id}: {message!r} (found {found})"


OBFUSCATED_POSITIVES, OBFUSCATED_ORDINARY = load_set(OBFUSCATED)


def test_the_obfuscated_set_spells_each_of_three_red_flags_50_ways():
    overdoses = sum("# overdose" in line for line in (SAFETY / OBFUSCATED).read_text().splitlines())
    crisis = sum(flag == "suicidal_thoughts" for flag, _ in OBFUSCATED_POSITIVES)
    assert overdoses >= 50 and crisis - overdoses >= 50
    assert sum(flag == "stroke" for flag, _ in OBFUSCATED_POSITIVES) >= 50
    assert len(OBFUSCATED_ORDINARY) >= 30


@pytest.mark.parametrize("flag_id, message", OBFUSCATED_POSITIVES)
def test_every_obfuscated_spelling_raises_its_flag_on_every_channel(flag_id, message):
    """Through the detector every channel checks a message with before Rasa sees it."""
    found = [d.flag.id for d in incoming.detector().detect(message)]
    assert flag_id in found, f"missed {flag_id}: {message!r} read as {normalise(message)!r} (found {found})"


@pytest.mark.parametrize("message", [message for message, _ in OBFUSCATED_ORDINARY])
def test_ordinary_messages_with_the_same_tricks_raise_nothing(message):
    assert incoming.detector().detect(message) == [], normalise(message)


def test_a_detection_in_obfuscated_text_reports_the_words_read():
    message = "now her f\u0430ce is <b>dr</b>00ping"
    detection = DETECTOR.detect(message)[0]
    assert normalise(message)[detection.start:detection.end] == detection.matched == "face is drooping"


# Textspeak and stretched words: short words without their vowel, letters held too long.
@pytest.mark.parametrize(
    "message, flag_id",
    [("i cnt lft my arm", "stroke"), ("i wnt to die", "suicidal_thoughts"), ("i want to kiiilll myself", "suicidal_thoughts"),
     ("i caaant lift my arrrm", "stroke"), ("her face is droping", "stroke")],
)
def test_short_and_stretched_words(message, flag_id):
    assert flag_id in [d.flag.id for d in DETECTOR.detect(message)]


@pytest.mark.parametrize(
    "message",
    # a double of "o" or "e" is kept: "loose" is not "lose"; "odd" is not "od" (overdose);
    # "dropped" and "drops" are not a misspelt "droop"; a textspeak skeleton keeps no vowel: "had" is not "head"
    ["loose bowels since the antibiotics, hard to control", "my legs feel odd today", "I dropped my eye drops",
     "my dad had a headache", "the stairs are steep"],
)
def test_typo_tolerance_makes_no_real_word_another(message):
    assert DETECTOR.detect(message) == [], message


# Ordinary MS pain questions and descriptions that must never get the emergency number.
MUST_STAY_CALM = [
    "numb feet for years", "what is a blood clot?", "I had steroids years ago, any bone risks?",
    "my feet burn at night", "it feels like water dripping down my leg", "why do my legs hurt",
    "the ms hug feels like a tight band around my chest", "what is baclofen for",
    "is double vision a symptom of ms", "what causes headaches in ms", "i fell over last year",
    "my bladder has been weak for years", "what are the signs of a stroke?",
    "headache today, the usual one i get when im tired",
    "been doing my stretches every morning, just wanted to share",  # "doing" is not a typo of "dying"
    "i lie on the floor for an hour every evening to stretch my back",  # a long lie needs a fall
    "feeling a bit down this week, the grey weather doesnt help",  # "a bit" is not a grey patch in the eye
    # Words a new pattern needs in a phrase ("legs just quit", "swallowed the whole box"), not anywhere:
    "I had to quit work because of my legs", "i folded the laundry and my legs ache",
    "the worst pain is in my legs, my head is fine", "gave the dog his dinner tonight",
    "I have taken all my meds today", "need to finish it tonight, the PIP form",
    "I find it hard to swallow my tablets, they stick in my throat",  # a common MS problem, not an overdose
]
# A false alarm is cheap, a miss is not: some ordinary messages may warn, but few.
MAX_LOUD_FALSE_ALARM_RATE = 0.10


@pytest.mark.parametrize("message", MUST_STAY_CALM)
def test_ordinary_ms_pain_messages_get_no_emergency_or_crisis_reply(message):
    severities = {d.flag.severity for d in DETECTOR.detect(message)}
    assert not severities & {"emergency", "crisis"}, f"{message!r} raised {severities}"


def test_ordinary_ms_pain_training_examples_get_no_emergency_or_crisis_reply():
    from rasa.shared.nlu.training_data.loading import load_data

    root = Path(__file__).resolve().parent.parent
    for path in (root / "data" / "nlu.yml", root / "tests" / "nlu_test.yml"):
        for example in load_data(str(path)).intent_examples:
            loud = [d.flag.id for d in DETECTOR.detect(example.get("text")) if d.flag.severity != "urgent"]
            assert not loud, f"{example.get('text')!r} ({example.get('intent')}) raised {loud}"


@pytest.mark.parametrize("set_name", SETS)
def test_few_ordinary_messages_get_an_emergency_or_crisis_reply(set_name):
    ordinary = [message for message, borderline in load_set(set_name)[1] if not borderline]
    loud = [m for m in ordinary if {d.flag.severity for d in DETECTOR.detect(m)} & LOUD]
    assert len(loud) / len(ordinary) <= MAX_LOUD_FALSE_ALARM_RATE, loud


# Symptoms and treatments the person says they do not have: the mention alone raises nothing.
DENIED = [
    "no chest pain or anything, just my usual burning feet",
    "my neck is stiff from sleeping funny, no fever",
    "my hip aches from arthritis, never had steroids",
    "my calf is not swollen, just achy after the walk",
    "his face isnt drooping, hes just tired",
    "no slurred speech, no headache, just the usual burning legs",
    "fell over in the garden, nothing broken, just a bruise",
    "back ache from sitting all day, no numbness down there",
    "had a fall last month, got checked and nothing was broken",
    "i had steroids last year but never had any hip pain",
    "ive never had one of those thunderclap headaches, mine are dull",
    "a dull headache, not sudden at all",
    "slipped in the kitchen, didnt hit my head, got up fine",
    "had steroids two years ago and my hips are absolutely fine",  # denied after the mention
    "no new symptoms, no fever, nothing like that",
    # Over: something gone by that the person says is over.
    "last year i fell and broke my wrist, its healed fine now",
    "my leg was red and swollen last summer, it was cellulitis and the antibiotics sorted it",
    "years ago i had a uti that made my legs go weak, took antibiotics and it all settled",
]
# Negation words that must not cancel a flag: each of the rule's limits, and phrasings where the
# word is the symptom ("no feeling", "not breathing").
STILL_RAISED = [
    ("no control over my bladder", "cauda_equina"),  # the pattern itself says "no"
    ("no feeling between my legs", "cauda_equina"),
    ("no, her face is drooping", "stroke"),  # punctuation between
    ("No. Chest pain now", "pulmonary_embolism"),
    ("never had chest pain like this before", "pulmonary_embolism"),  # new, not absent
    ("i have never had chest pain until now", "pulmonary_embolism"),
    ("never had a headache like this", "thunderclap_headache"),
    ("not had steroids since last year and now my hip hurts", "osteonecrosis"),
    ("no headache tablets are touching it, worst headache ever", "thunderclap_headache"),
    ("no chest pain but i cant breathe", "pulmonary_embolism"),  # another part of the message
    ("no swelling but my calf is red hot and throbbing", "dvt"),
    ("no fever but my neck is stiff and she has a rash", "meningitis"),
    ("im not suicidal, i just want to die", "suicidal_thoughts"),  # crisis: never negated
    ("no suicidal thoughts, just no point living anymore", "suicidal_thoughts"),
    ("hes not breathing", "pulmonary_embolism"),
    ("i could not breathe at all", "pulmonary_embolism"),
    ("without warning her face drooped", "stroke"),
    ("i have no strength in my legs all of a sudden", "sudden_leg_paralysis"),
    ("i have no feeling in my legs", "sudden_leg_paralysis"),
    ("my legs arent working", "sudden_leg_paralysis"),
    ("no vision in my left eye", "sudden_vision_loss"),
    ("hes not talking properly, its all garbled", "stroke"),  # a loss of function is not in `of`
    ("swollen calf, dvt last year", "dvt"),  # history is a risk, not a sign the symptom is over
    ("hip pain and a new limp, i had iv steroids for a relapse last year", "osteonecrosis"),
    ("ever had a fever with a stiff neck? i have one now", "meningitis"),  # "ever" is not "never"
    ("never had any hip pain until my steroid course", "osteonecrosis"),
    ("no hip pain before the steroids, now my hip aches", "osteonecrosis"),
    ("never had one of those thunderclap headaches before and it hit like a bang", "thunderclap_headache"),
    ("fell, nothing was broken they said, but now i cant put weight on my leg", "serious_fall"),
    ("not suddenly, over an hour, but now her face is drooping", "stroke"),
    ("wish i was dyin already", "suicidal_thoughts"),
    ("didnt hit my head but now i cant get up off the floor", "serious_fall"),
    ("my hips are fine but my groin aches since the steroids", "osteonecrosis"),  # another part
    # The fever is denied; a stiff neck with confusion is a sign without it.
    ("no fever, nothing like this before, but her neck is stiff and she is confused", "meningitis"),
    # Over, and its limits: said before the match, no past, now or a hedge between, crisis.
    ("fell last year and broke my wrist, healed fine, but today i fell and hit my head", "serious_fall"),
    ("swollen calf, the clot i had years ago cleared up", "dvt"),  # history beside a symptom now
    ("my calf is swollen and hot, the dvt i had last year cleared up", "dvt"),
    ("i had a uti last month, it cleared up but now my legs are weaker and i have a fever", "infection_worsening"),
    ("she fell last year and hit her head, hopefully no harm done", "serious_fall"),
    ("my leg was swollen last month, it went away then came back worse", "dvt"),
    ("had a uti last month that made my legs weak, it cleared up but the weakness is back", "infection_worsening"),
    ("fell an hour ago and hit my head, no harm done", "serious_fall"),
    ("i fell and hit my head, it went away", "serious_fall"),  # nothing says it was long ago
    ("last year i wanted to end it all, its healed now", "suicidal_thoughts"),
]


@pytest.mark.parametrize("message", DENIED)
def test_a_symptom_the_person_says_they_do_not_have_raises_nothing(message):
    assert DETECTOR.detect(message) == [], message


@pytest.mark.parametrize("message, flag_id", STILL_RAISED)
def test_negation_words_do_not_cancel_a_present_red_flag(message, flag_id):
    assert flag_id in [d.flag.id for d in DETECTOR.detect(message)], message


@pytest.mark.parametrize(
    "message, most_severe",
    [
        ("my chest hurts and my calf is swollen", "pulmonary_embolism"),
        ("my calf is swollen and i want to end it all", "suicidal_thoughts"),
        ("had steroids, now my hip hurts and i cant see out of my left eye", "sudden_vision_loss"),
    ],
)
def test_the_most_severe_flag_comes_first(message, most_severe):
    found = DETECTOR.detect(message)
    assert len(found) >= 2
    assert found[0].flag.id == most_severe


@pytest.mark.parametrize(
    "message",
    ["MY CALF IS SWOLLEN", "my calf is swolen", "my claf is swollen", "my dad's calf is swollen and hot",
     "I've had MS for years and the usual burning in my feet is the same, the gabapentin helps a bit, "
     "but since this morning one calf is swollen and it's hot to the touch, anyway what helps burning feet"],
)
def test_case_typos_carers_and_long_messages(message):
    assert "dvt" in [d.flag.id for d in DETECTOR.detect(message)]


def test_skipping_patterns_by_their_first_words_loses_no_flag():
    """`detect` searches only patterns whose parts' first words appear; searching every pattern
    of every flag must find exactly the same flags, on every message the tests know."""
    from rasa.shared.nlu.training_data.loading import load_data

    root = Path(__file__).resolve().parent.parent
    messages = [m for _, _, m in POSITIVES] + [m for _, m, _ in ORDINARY] + MUST_STAY_CALM + [
        m for _, m in OBFUSCATED_POSITIVES] + [m for m, _ in OBFUSCATED_ORDINARY] + [
        example.get("text") for path in (root / "data" / "nlu.yml", root / "tests" / "nlu_test.yml")
        for example in load_data(str(path)).intent_examples
    ]
    assert len(messages) > 1000
    for message in messages:
        read = DETECTOR.read(message)
        every_pattern = {
            flag.id for flag in DETECTOR.flags if any(DETECTOR.find(flag, p, read) is not None for p in flag.patterns)
        }
        assert {d.flag.id for d in DETECTOR.detect(message)} == every_pattern, message


def test_the_vocabulary_index_agrees_with_the_word_rule():
    """`Vocabulary` finds the pattern words a token matches from indexes; `word_matches` is the rule.
    Over real words, typos, textspeak and stretched letters, they must agree."""
    spellings = {"swolen", "breathign", "kiill", "droping", "cnt", "lft", "arrm", "caaant", "hurting", "fell", "diie",
                 "steriods", "wedding", "really", "loose", "steep", "odd", "dropped", "had", "dad", "leggs", "fewer"}
    tokens = spellings | {t.text for m in MUST_STAY_CALM + [m for _, m in OBFUSCATED_POSITIVES] for t in red_flags.tokenize(normalise(m))}
    words = DETECTOR.vocabulary.words
    for token in sorted(tokens):
        assert DETECTOR.vocabulary.matching(token) == {w for w in words if red_flags.word_matches(w, token)}, token


def test_detection_reports_where_the_flag_is():
    message = "usual aches, but now her face is drooping"
    detection = DETECTOR.detect(message)[0]
    assert message[detection.start:detection.end] == detection.matched == "face is drooping"


# ---------------------------------------------------------------- words: lemmas, typos, exact


@pytest.mark.parametrize(
    "pattern_word, token",
    [("fall", "fell"), ("fall", "falling"), ("fall", "falls"), ("hurt", "hurting"), ("leg", "legs"), ("weak", "weaker"),
     ("lose", "lost"), ("swollen", "swolen"), ("=die", "diie"), ("droop*", "droping"), ("cant", "cnt")],
)
def test_a_pattern_word_matches_its_forms_typos_and_stretched_spellings(pattern_word, token):
    assert red_flags.word_matches(pattern_word, token)


@pytest.mark.parametrize(
    "pattern_word, token",
    # An inflected pattern word matches only itself ("fallen" is not "fell"); a form that is another
    # word is no lemma ("went" is not "go", "well" not "better"); `=` turns lemmas and typos off.
    [("fallen", "fell"), ("having", "had"), ("go", "went"), ("better", "well"), ("=kill", "killing"),
     ("=fever", "never")],
)
def test_a_pattern_word_does_not_match_other_words(pattern_word, token):
    assert not red_flags.word_matches(pattern_word, token)


@pytest.mark.parametrize(
    "message, flag_id",
    [("thinking of hurting myself", "suicidal_thoughts"), ("she falls and hits her head", "serious_fall"),
     ("my legs are giving way", "sudden_leg_paralysis"), ("i cant breathe properly", "pulmonary_embolism")],
)
def test_lemmas_read_every_form_of_a_pattern_word(message, flag_id):
    assert flag_id in [d.flag.id for d in DETECTOR.detect(message)]


# ---------------------------------------------------------------- parts, sentences, windows


def test_parts_of_a_pattern_do_not_share_words():
    """"right now" is not both the sudden onset and the side of the body."""
    assert DETECTOR.detect("I feel weak right now") == []
    assert "stroke" in [d.flag.id for d in DETECTOR.detect("suddenly weak down my right side")]


def test_parts_of_a_pattern_are_in_one_sentence_or_two_short_neighbouring_ones():
    assert "dvt" in [d.flag.id for d in DETECTOR.detect("my calf aches and it looks swollen")]
    assert DETECTOR.detect("my calf aches after a long walk in the hills. The river was swollen after the rain.") == []
    assert "stroke" in [d.flag.id for d in DETECTOR.detect("Sudden weakness. Left arm and face.")]
    assert "stroke" not in [d.flag.id for d in DETECTOR.detect(
        "Sudden weakness in the garden this morning, I had overdone the weeding. Left arm and face are fine though.")]


def test_a_part_after_three_dots_may_be_anywhere_in_the_message():
    """"{hip} ... {steroid}": the steroid course is told in another sentence."""
    assert "osteonecrosis" in [d.flag.id for d in DETECTOR.detect("I had steroids in March. Now my hip hurts and I limp.")]


# ---------------------------------------------------------------- context


@pytest.mark.parametrize(
    "message",
    [
        "no chest pain",  # negated, forward
        "my hips are fine, i had steroids last year",  # negated, backward
        "I had a DVT five years ago and it's all cleared up",  # historical, backward, with a time long ago
        "we watched a programme about meningitis",  # hypothetical, forward (a story)
        "what are the signs of a stroke?",  # hypothetical, forward (a general question)
        "worried I might lose my sight in the future",  # hypothetical, backward
    ],
)
def test_each_context_category_and_direction_holds_back_a_match(message):
    assert DETECTOR.detect(message) == [], message


@pytest.mark.parametrize(
    "message, flag_id",
    [
        ("no feeling in my legs", "sudden_leg_paralysis"),  # `of`: a loss of function is the symptom
        ("never had chest pain like this", "pulmonary_embolism"),  # `unless`: new, not absent
        ("no, her face is drooping", "stroke"),  # `within_clause`: the denial ends at the comma
        ("no fever but my neck is stiff and she has a rash", "meningitis"),  # "but" ends the reach
        ("i fell and hit my head, it went away", "serious_fall"),  # `with`: nothing says it was long ago
        ("my leg was swollen last month, it went away then came back worse", "dvt"),  # `unless`: back again
        ("swollen calf, the clot i had years ago cleared up", "dvt"),  # the time is in a clause after the symptom
        ("what does it mean when my face droops", "stroke"),  # `unless`: a question about oneself
    ],
)
def test_each_context_rule_stops_where_it_should(message, flag_id):
    assert flag_id in [d.flag.id for d in DETECTOR.detect(message)], message


def test_a_report_about_someone_else_still_warns_and_says_so():
    [carer] = DETECTOR.detect("her face is drooping")
    [own] = DETECTOR.detect("my face is drooping")
    assert carer.flag.id == own.flag.id == "stroke"
    assert carer.about_someone_else and not own.about_someone_else
    assert DETECTOR.detect("swollen calf, my dad says")[0].about_someone_else  # reaching back


def test_a_detection_quotes_the_words_from_the_first_matched_to_the_last():
    [detection] = DETECTOR.detect("Thinking about things. My calf, the left one, is swollen and sore.")
    assert detection.matched == "calf, the left one, is swollen"
    assert detection.context == frozenset()


# The lexicon alone on wordings it once got wrong: the kind of failure was fixed (lemmas, narrower
# terms, context, sentences), not the wording added.
REGRESSION_RAISED = [
    ("thinking of hurting myself", "suicidal_thoughts"),
    ("been self harming to cope with the pain", "suicidal_thoughts"),
    ("going to take all my pregabalin tonight", "suicidal_thoughts"),
    ("I took 30 of my baclofen an hour ago", "overdose"),
    ("I just took way too many of my pills on purpose", "overdose"),
    ("my son got into my gabapentin and took a load, he's really drowsy", "overdose"),
    ("life isn't worth living with this pain", "suicidal_thoughts"),
    ("stroke symptoms right now", "stroke"),
    ("cnt breath proply n chest rly tight", "pulmonary_embolism"),
    ("blurry vision in one eye and it hurts when I move my eye", "optic_neuritis"),
]
REGRESSION_CALM = [
    "collecting my meds from the pharmacy", "Have I got enough tablets for my holiday?", "I don't go on long walks anymore",
    "I did not wake up until 10", "I don't see the point of physio", "cant see my neurologist until march",
    "I feel weak right now", "we watched a programme about meningitis", "my doctor checked my leg and it wasn't a clot",
    "no fever, no water infection, just my normal spasms", "I had a DVT five years ago and it's all cleared up",
]


@pytest.mark.parametrize("message, flag_id", REGRESSION_RAISED)
def test_regressions_raise_their_flag(message, flag_id):
    assert flag_id in [d.flag.id for d in DETECTOR.detect(message)], message


@pytest.mark.parametrize("message", REGRESSION_CALM)
def test_regressions_raise_nothing(message):
    assert DETECTOR.detect(message) == [], message


def safety_summary() -> list[str]:
    """Recall per set, and the false alarms: printed after the test run."""
    lines = []
    for name in (*SETS, OBFUSCATED):
        positives, ordinary = load_set(name)
        caught = sum(flag in [d.flag.id for d in DETECTOR.detect(m)] for flag, m in positives)
        raised = [({d.flag.severity for d in DETECTOR.detect(m)}, borderline) for m, borderline in ordinary]
        flagged = sum(bool(severities) for severities, _ in raised)
        alarms = sum(is_false_alarm(severities, borderline) for severities, borderline in raised)
        loud = sum(bool(severities & LOUD) for severities, _ in raised)
        lines.append(
            f"{name}: recall {caught / len(positives):.3f} ({caught}/{len(positives)}); ordinary messages raising "
            f"a flag {flagged}/{len(ordinary)}, false alarms by label {alarms} ({alarms / len(ordinary):.1%}), "
            f"emergency or crisis {loud}"
        )
    return lines
