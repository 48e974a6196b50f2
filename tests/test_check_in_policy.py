"""The turn after a red-flag check-in question, as the policy decides it on real trackers and the
rendered domain: "No" answers the question held back, anything else gets the flag's warning, and
on every other turn the policy predicts nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.core.constants import RULE_POLICY_PRIORITY
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from pain_assistant import red_flags, render_safety
from pain_assistant.check_in_policy import HELD_ANSWER_ACTION, CheckInPolicy

ROOT = Path(__file__).resolve().parent.parent
FLAGS = red_flags.load().flags
# One flag of each check: "is this happening now?" and the crisis question.
NOW_FLAG = next(f for f in FLAGS if f.check == "now")
CRISIS_FLAG = next(f for f in FLAGS if f.check == "crisis")


@pytest.fixture(scope="module")
def rasa_domain(tmp_path_factory) -> Domain:
    out = tmp_path_factory.mktemp("rendered")
    render_safety.render("us", out)
    return Domain.load(str(out / "domain"))


@pytest.fixture(scope="module")
def policy(tmp_path_factory, rasa_domain) -> CheckInPolicy:
    """Trained and loaded the way a model is: train writes its resource, load reads it back."""
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    resource = Resource("check_in_policy")
    context = ExecutionContext(GraphSchema({}))
    config = CheckInPolicy.get_default_config()
    CheckInPolicy.create(config, storage, resource, context).train([], rasa_domain)
    return CheckInPolicy.load(config, storage, resource, context)


def user(intent: str | None, flag_id: str | None = None) -> list[Event]:
    entities = [{"entity": "red_flag", "value": flag_id}] if flag_id else []
    events: list[Event] = [UserUttered("...", {"name": intent, "confidence": 1.0} if intent else None, entities)]
    return events + ([SlotSet("red_flag", flag_id)] if flag_id else [])


def bot(*actions: str) -> list[Event]:
    return [ActionExecuted(action) for action in actions] + [ActionExecuted(ACTION_LISTEN_NAME)]


def asked(flag: red_flags.RedFlag) -> list[Event]:
    """A message the detector was unsure about, and the check-in question the rules asked."""
    return bot() + user("red_flag_check", flag.id) + bot(render_safety.check_response_name(flag.check))


def predict(policy: CheckInPolicy, domain: Domain, events: list[Event]) -> str | None:
    tracker = DialogueStateTracker.from_events("test", events, slots=domain.slots)
    prediction = policy.predict_action_probabilities(tracker, domain)
    if prediction.max_confidence == 0.0:
        return None
    assert prediction.max_confidence == 1.0 and prediction.policy_priority > RULE_POLICY_PRIORITY
    return domain.action_names_or_texts[prediction.max_confidence_index]


@pytest.mark.parametrize("flag", [NOW_FLAG, CRISIS_FLAG], ids=lambda f: f.id)
def test_no_answers_the_question_held_back_then_listens(policy, rasa_domain, flag):
    events = asked(flag) + user("deny")
    assert predict(policy, rasa_domain, events) == HELD_ANSWER_ACTION
    assert predict(policy, rasa_domain, events + [ActionExecuted(HELD_ANSWER_ACTION)]) == ACTION_LISTEN_NAME


@pytest.mark.parametrize("intent", ["affirm", "not_sure", "ask_leg_pain", "nlu_fallback", "stop_check", None])
@pytest.mark.parametrize("flag", [NOW_FLAG, CRISIS_FLAG], ids=lambda f: f.id)
def test_anything_but_no_gets_the_flags_warning_then_listens(policy, rasa_domain, flag, intent):
    events = asked(flag) + user(intent)
    warning = render_safety.response_name(flag.id)
    assert predict(policy, rasa_domain, events) == warning
    assert predict(policy, rasa_domain, events + [ActionExecuted(warning)]) == ACTION_LISTEN_NAME


@pytest.mark.parametrize("flag", FLAGS, ids=lambda f: f.id)
def test_every_flag_gets_its_own_warning(policy, rasa_domain, flag):
    assert predict(policy, rasa_domain, asked(flag) + user("affirm")) == render_safety.response_name(flag.id)


def test_a_check_that_ended_the_leg_check_is_answered_too(policy, rasa_domain):
    events = (
        bot() + user("start_leg_check") + [ActionExecuted("utter_leg_check_intro"), ActionExecuted("leg_check_form"),
                                           ActiveLoop("leg_check_form"), ActionExecuted(ACTION_LISTEN_NAME)]
        + user("red_flag_check", NOW_FLAG.id)
        + [ActionExecuted(render_safety.check_response_name("now")), ActionExecuted("action_deactivate_loop"),
           ActiveLoop(None), ActionExecuted(ACTION_LISTEN_NAME)]
        + user("deny")
    )
    assert predict(policy, rasa_domain, events) == HELD_ANSWER_ACTION


def test_another_suspected_flag_in_the_reply_gets_its_warning_not_another_question(policy, rasa_domain):
    events = asked(NOW_FLAG) + user("red_flag_check", CRISIS_FLAG.id)
    assert predict(policy, rasa_domain, events) == render_safety.response_name(CRISIS_FLAG.id)


@pytest.mark.parametrize(
    "events",
    [
        pytest.param(bot() + user("greet"), id="no check asked"),
        pytest.param(bot() + user("red_flag", NOW_FLAG.id) + bot(render_safety.response_name(NOW_FLAG.id)) + user("affirm"),
                     id="after a warning"),
        pytest.param(asked(NOW_FLAG) + user("red_flag", CRISIS_FLAG.id), id="a red flag in the reply: the rules warn"),
        pytest.param(asked(NOW_FLAG) + user("restart"), id="restart"),
        pytest.param(asked(NOW_FLAG) + user("deny") + bot(HELD_ANSWER_ACTION) + user("affirm"), id="two turns on"),
        pytest.param(asked(NOW_FLAG) + user("deny") + [ActionExecuted("utter_what_else")], id="another action ran"),
        pytest.param(asked(NOW_FLAG) + [ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted()] + bot() + user("deny"),
                     id="a new session"),
        pytest.param([], id="empty"),
    ],
)
def test_predicts_nothing_on_any_other_turn(policy, rasa_domain, events):
    assert predict(policy, rasa_domain, events) is None


def test_it_wins_over_the_rule_for_a_yes_or_no_with_nothing_asked(policy, rasa_domain):
    """RulePolicy predicts that rule with confidence 1.0 too: the ensemble takes the higher priority."""
    tracker = DialogueStateTracker.from_events("test", asked(NOW_FLAG) + user("affirm"), slots=rasa_domain.slots)
    ours = policy.predict_action_probabilities(tracker, rasa_domain)
    rule = PolicyPrediction.for_action_name(rasa_domain, "utter_what_else", "RulePolicy")
    rule.policy_priority = RULE_POLICY_PRIORITY
    for predictions in ([rule, ours], [ours, rule]):
        best = DefaultPolicyPredictionEnsemble().combine_predictions(predictions, tracker, rasa_domain)
        assert rasa_domain.action_names_or_texts[best.max_confidence_index] == render_safety.response_name(NOW_FLAG.id)


def test_config_ranks_it_above_the_rule_policy():
    policies = {p["name"]: p for p in yaml.safe_load((ROOT / "config.yml").read_text())["policies"]}
    assert policies["pain_assistant.check_in_policy.CheckInPolicy"]["priority"] > RULE_POLICY_PRIORITY
    assert "priority" not in policies["RulePolicy"]


def test_what_it_predicts_and_what_the_buttons_send_are_in_the_domain(rasa_domain):
    assert HELD_ANSWER_ACTION in rasa_domain.action_names_or_texts
    payloads = {payload for buttons in render_safety.CHECK_BUTTONS.values() for _, payload in buttons}
    assert {payload.lstrip("/") for payload in payloads} <= set(rasa_domain.intents)


def test_the_conversation_tests_agree_with_it(policy, rasa_domain):
    """tests/test_stories.yml, step by step (with the listens Rasa inserts): wherever the policy
    predicts, it predicts the story's next action; it decides every answer to a check question."""
    decided = 0
    for story in YAMLStoryReader(rasa_domain).read_from_file(str(ROOT / "tests" / "test_stories.yml")):
        events: list[Event] = []
        for event in story.events:
            if isinstance(event, UserUttered):
                events.append(ActionExecuted(ACTION_LISTEN_NAME))
            if isinstance(event, ActionExecuted):
                predicted = predict(policy, rasa_domain, events)
                assert predicted in (None, event.action_name), (story.block_name, event.action_name)
                decided += predicted is not None
                if predicted is not None:
                    events.append(event)
                    assert predict(policy, rasa_domain, events) == ACTION_LISTEN_NAME, story.block_name
                    continue
            events.append(event)
    assert decided == 4
