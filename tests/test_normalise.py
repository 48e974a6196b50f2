"""normalise(): every rule, text written normally left alone, idempotent, and linear time.

The red-flag detector and the NLU read what it returns (tests/test_red_flags.py checks the
obfuscated red flags of knowledge/red_flag_examples/obfuscated.yml end to end).
"""

from __future__ import annotations

import time

import pytest

from pain_assistant.normalise import normalise
from pain_assistant.red_flag_examples import EXAMPLES_DIR as SAFETY, load_set

RULES = [
    # 1. compatibility forms and format characters
    ("ｋｉｌｌ ｍｙｓｅｌｆ", "kill myself"),
    ("𝐤𝐢𝐥𝐥 𝓂𝓎𝓈𝑒𝓁𝒻", "kill myself"),
    ("ⓚⓘⓛⓛ", "kill"),
    ("ki\u200bll", "kill"),
    ("k\u200ci\u200dl\u2060l", "kill"),
    ("ki\u00adll", "kill"),
    ("\ufeffkill", "kill"),
    ("\u202ekill\u200e", "kill"),
    # 2. entities and tags
    ("&#107;ill", "kill"),
    ("&#x6B;ill", "kill"),
    ("fish &amp; chips", "fish & chips"),
    ("&amp;lt;b&amp;gt;ki&amp;lt;/b&amp;gt;ll", "kill"),
    ("<b>ki</b>ll", "kill"),
    ('<span style="color:red">ki</span>ll', "kill"),
    ("kill<br>myself", "kill myself"),
    ("<p>hello</p><p>world</p>", " hello  world "),
    # 3. combining marks
    ("kíll", "kill"),
    ("ki\u0301ll", "kill"),
    ("k\u0336i\u0336l\u0336l\u0336", "kill"),
    ("café naïve", "cafe naive"),
    ("Zoë", "Zoe"),
    # 4. look-alike letters, by shape
    ("k\u0456ll", "kill"),
    ("\u0440\u0440", "pp"),
    ("k\u03b9ll", "kill"),
    ("\u041a\u0406\u04c0\u04c0", "KIll"),
    ("\u0441\u0430r\u0435", "care"),
    # 5. leetspeak between letters
    ("k1ll", "kill"),
    ("su1c1de", "suicide"),
    ("h3lp", "help"),
    ("dr00p1ng", "drooping"),
    ("0v3rd0s3", "overdose"),
    # 6. spaced, dotted, dashed single letters
    ("k i l l myself", "kill myself"),
    ("k.i.l.l", "kill"),
    ("k-i-l-l", "kill"),
    ("k_i_l_l", "kill"),
    ("k. i. l. l.", "kill."),
    ("k i l l  m y s e l f", "kill  myself"),
    ("I can't l i f t it", "I can't lift it"),
    # 7. letter runs
    ("killlll myselfff", "kill myselff"),
    ("sooo", "soo"),
    ("Aaaargh", "Aargh"),
    # combined
    ("I w4nt to <b>k\u0456</b>l\u200bl mysellllf", "I want to kill mysellf"),
]


@pytest.mark.parametrize("text, expected", RULES)
def test_each_rule(text, expected):
    assert normalise(text) == expected


UNCHANGED = [
    "I'm so tired, can't sleep: the burning (in my feet) is worse at night!",
    "took my 10mg at 3am", "vitamin b12 and d3", "my 2nd relapse", "covid19 jab", "T2 lesions at L4-L5",
    "is 300 mg/day a lot?", "pain 7/10 -> 5/10", "I am a bit sore", "e.g. i.e.", "I <3 my physio",
    "pain < 5 and > 2", "A & E", "привет", "καλημερα",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_text_written_normally_stays_as_it_is(text):
    assert normalise(text) == text


def test_the_safety_sets_ordinary_messages_are_left_almost_alone():
    """People write normally: no ordinary message of any safety set changes."""
    ordinary = [
        message for path in sorted(SAFETY.glob("red_flag_*.yml")) for message, _ in load_set(path.name)[1]
    ]
    assert len(ordinary) > 700
    assert [message for message in ordinary if normalise(message) != message] == []


def test_idempotent():
    obfuscated = [message for _, message in load_set("obfuscated.yml")[0]] + [m for m, _ in load_set("obfuscated.yml")[1]]
    for text in [text for text, _ in RULES] + UNCHANGED + obfuscated:
        once = normalise(text)
        assert normalise(once) == once, text


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself. " * 45_000,
        "a" * 1_000_000,
        "a b " * 250_000,
        "&amp;" * 200_000,
        "<b" * 500_000,
        "<b>x</b>" * 130_000,
        "k1ll " * 200_000,
        "a" + "1" * 1_000_000,
        "é\u200b" * 500_000,
        "кіll " * 200_000,
    ],
    ids=["sentences", "one letter", "spaced letters", "entities", "unclosed tags", "tags", "leetspeak",
         "digits", "marks", "cyrillic"],
)
def test_a_megabyte_takes_under_two_seconds(text):
    """Each takes 0.1-0.6 s on an idle 2-core machine; the margin is for a busy one."""
    normalise("warm up the tables")
    started = time.perf_counter()
    normalise(text)
    assert time.perf_counter() - started < 2.0


# The NLU component: the classifier and extractors read the normalised text, at training and at run time.


def message_with(text: str, entities: list[dict] | None = None):
    from rasa.shared.nlu.constants import ENTITIES, TEXT
    from rasa.shared.nlu.training_data.message import Message

    return Message(data={TEXT: text, **({ENTITIES: entities} if entities else {})})


def test_the_component_gives_the_pipeline_the_normalised_text():
    from rasa.shared.nlu.constants import TEXT

    from pain_assistant.rasa_components import NormaliseText

    messages = [message_with("I want to <b>k1</b>ll myself"), message_with("why do my legs hurt")]
    NormaliseText().process(messages)
    assert [m.get(TEXT) for m in messages] == ["I want to kill myself", "why do my legs hurt"]


def test_training_examples_keep_their_entities_on_the_same_words():
    from rasa.shared.nlu.constants import ENTITIES, TEXT
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from pain_assistant.rasa_components import NormaliseText

    def annotated(text: str, words: str) -> dict:
        start = text.index(words)
        return {"entity": "body_part", "value": "feet", "start": start, "end": start + len(words)}

    after_a_stretched_word = "sooo much burning in my feet"
    in_fullwidth = "my ｆｅｅｔ burn"
    split_by_the_run = "killl"  # an annotation of its last "ll", which normalising halves
    data = TrainingData(
        [
            message_with(after_a_stretched_word, [annotated(after_a_stretched_word, "feet")]),
            message_with(in_fullwidth, [annotated(in_fullwidth, "ｆｅｅｔ")]),
            message_with(split_by_the_run, [{"entity": "x", "value": "ll", "start": 3, "end": 5}]),
        ]
    )
    NormaliseText().process_training_data(data)
    texts = [(m.get(TEXT), [m.get(TEXT)[e["start"]:e["end"]] for e in m.get(ENTITIES)]) for m in data.training_examples]
    assert texts == [("soo much burning in my feet", ["feet"]), ("my feet burn", ["feet"]), ("killl", ["ll"])]


def test_rasa_runs_the_component_before_the_tokenizer_at_training_and_at_run_time():
    """The pipeline line the lead adds to config.yml, first: `- name: pain_assistant.rasa_components.NormaliseText`."""
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.shared.data import TrainingType

    import pain_assistant.rasa_components  # noqa: F401  (registers the components)

    config = {
        "recipe": "default.v1", "language": "en",
        "pipeline": [
            {"name": "pain_assistant.rasa_components.NormaliseText"}, {"name": "WhitespaceTokenizer"},
            {"name": "CountVectorsFeaturizer"}, {"name": "LogisticRegressionClassifier"},
        ],
    }
    graph = DefaultV1Recipe().graph_config_for_recipe(config, {}, training_type=TrainingType.NLU)
    normalise_node = "run_pain_assistant.rasa_components.NormaliseText0"
    assert graph.train_schema.nodes["run_WhitespaceTokenizer1"].needs["training_data"] == normalise_node
    assert graph.train_schema.nodes[normalise_node].fn == "process_training_data"
    assert graph.predict_schema.nodes["run_WhitespaceTokenizer1"].needs["messages"] == normalise_node
    assert graph.predict_schema.nodes[normalise_node].fn == "process"
