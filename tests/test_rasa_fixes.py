"""The fixes to Rasa keep Rasa's behaviour: the action-response check built once accepts and
rejects exactly what Rasa's own check does, with the same message; events are resolved to the
same classes; each rule decoded once is the rule Rasa decodes, for every rule of the trained
model. On four whole conversations (the bench's three patients, 16 messages each, and a leg
check, with the real action server): the rule matching that stops early finds the rules Rasa's
finds, and the states of the last turns are Rasa's and give Rasa's prediction, at every
prediction; the action server gets the same data from ujson's encoding as from the standard
library's, at every action call; run without dask, the graphs give the same conversations,
event for event."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rasa
import ujson
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.processor import MessageProcessor
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.constants import SHOULD_NOT_BE_SET
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUttered,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

import rasa_fixes
from rasa_fixes import applied_events, math_threads
from tests import servers

ROOT = Path(__file__).resolve().parent.parent

RASA_OWN_CHECK = RemoteAction._validate_action_result
RASA_OWN_RESOLVE = Event.resolve_by_type
RASA_OWN_DECODE = RulePolicy.__dict__["_rule_key_to_state"]
RASA_OWN_POSSIBLE_KEYS = RulePolicy.__dict__["_get_possible_keys"]
RASA_OWN_STATES = RulePolicy._prediction_states  # Policy's, which RulePolicy inherits
RASA_OWN_PREDICT = RulePolicy._predict
RASA_OWN_SESSION = EndpointConfig.session
RASA_OWN_CALL_FORMAT = RemoteAction._action_call_format
RASA_OWN_RUN = DaskGraphRunner.run
RASA_OWN_HANDLE = MessageProcessor.handle_message
RASA_OWN_REQUEST = EndpointConfig.request
ACTION = RemoteAction("action_answer_topic", None)

GOOD = [
    {},
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "topic", "value": "ms_hug"}], "responses": [{"text": "hi"}]},
]
BAD = [
    {"events": "not a list"},
    {"responses": [1, 2]},
    {"events": [{"no event": "name"}]},
    {"events": [{"event": "slot", "name": 3}]},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("response", GOOD)
def test_a_good_response_passes_both_checks(response):
    assert RASA_OWN_CHECK(ACTION, response) is True
    assert rasa_fixes.validate_action_response(ACTION, response) is True


@pytest.mark.parametrize("response", BAD)
def test_a_malformed_response_fails_both_checks_with_the_same_message(response):
    with pytest.raises(ValidationError) as rasas:
        RASA_OWN_CHECK(ACTION, response)
    with pytest.raises(ValidationError) as ours:
        rasa_fixes.validate_action_response(ACTION, response)
    assert ours.value.message == rasas.value.message
    assert "Failed to validate Action server response" in ours.value.message


@pytest.mark.parametrize("type_name", sorted({event_type.type_name for event_type in all_subclasses(Event)}))
def test_every_event_name_resolves_to_the_class_rasa_finds(type_name):
    assert rasa_fixes.resolve_event_type(type_name) is RASA_OWN_RESOLVE(type_name)


def test_an_unknown_event_name_is_refused_or_defaulted_as_rasa_does():
    with pytest.raises(ValueError, match="Unknown event name"):
        rasa_fixes.resolve_event_type("no_such_event")
    assert rasa_fixes.resolve_event_type("no_such_event", UserUttered) is UserUttered
    assert rasa_fixes.resolve_event_type("topic") is None


def test_each_rule_of_the_model_decodes_as_rasa_decodes_it():
    agent = Agent.load(str(servers.MODEL))
    policy = next(component for component in _loaded_components(agent) if isinstance(component, RulePolicy))
    keys = [key for lookup in policy.lookup.values() if isinstance(lookup, dict) for key in lookup]
    assert len(keys) > 40
    for key in keys:
        first, again = rasa_fixes.decoded_rule(key), rasa_fixes.decoded_rule(key)
        assert first == again == RASA_OWN_DECODE.__func__(key)


def whole_conversations() -> list[list[str]]:
    """The bench's patients' scripts, 16 messages each, and a leg check with an answer it must ask again."""
    sys.path.insert(0, str(servers.ROOT / "scripts"))
    from load_generator import SCRIPTS, conversation

    talks = [conversation(i, 16) for i in range(len(SCRIPTS))]
    talks.append(["can you check my leg pain", "no", "what is spasticity", "nope", "stop", "why do my legs hurt"])
    return talks


def talk(agent: Agent, talks: list[list[str]], prefix: str) -> list[list[dict]]:
    """Each conversation's events, as dicts without what differs from one run to the next."""
    async def run() -> list[list[dict]]:
        for number, messages in enumerate(talks):
            for text in messages:
                await agent.handle_text(text, sender_id=f"{prefix}-{number}")
        trackers = [await agent.tracker_store.retrieve(f"{prefix}-{number}") for number in range(len(talks))]
        return [[_without_run_details(event.as_dict()) for event in tracker.events] for tracker in trackers]

    return asyncio.run(run())


def _without_run_details(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_run_details(v) for k, v in value.items() if k not in ("timestamp", "message_id")}
    if isinstance(value, list):
        return [_without_run_details(v) for v in value]
    return value


def test_rule_matching_finds_the_rules_rasa_finds_at_every_prediction(assistant, monkeypatch, tmp_path):
    compared = []

    def both(policy, lookup, states):
        ours = rasa_fixes.possible_rule_keys(policy, lookup, states)
        assert ours == RASA_OWN_POSSIBLE_KEYS(policy, lookup, states)
        compared.append(len(states))
        return ours

    monkeypatch.setattr(RulePolicy, "_get_possible_keys", both)
    monkeypatch.setattr(RulePolicy, "_rule_key_to_state", staticmethod(rasa_fixes.decoded_rule))
    agent = Agent.load(str(servers.MODEL), action_endpoint=EndpointConfig(url="http://localhost:5055/webhook"))
    talk(agent, whole_conversations(), "rules")
    assert len(compared) > 100 and max(compared) > 20, "long conversations were compared"


def test_the_last_turns_states_are_rasas_and_predict_what_rasa_predicts(assistant, monkeypatch):
    compared = []

    def states_both_ways(policy, tracker, domain, use_text_for_last_user_input=False, rule_only_data=None):
        rasas = RASA_OWN_STATES(policy, tracker, domain, use_text_for_last_user_input, rule_only_data)
        ours = rasa_fixes.recent_prediction_states(policy, tracker, domain, use_text_for_last_user_input, rule_only_data)
        assert len(ours) == min(len(rasas), rasa_fixes.longest_rule(policy))
        assert ours == rasas[-len(ours):]
        compared.append(len(rasas))
        return ours

    def predict_both_ways(policy, tracker, domain):
        ours, our_source = RASA_OWN_PREDICT(policy, tracker, domain)
        monkeypatch.setattr(RulePolicy, "_prediction_states", RASA_OWN_STATES)
        try:
            rasas, rasa_source = RASA_OWN_PREDICT(policy, tracker, domain)
        finally:
            monkeypatch.setattr(RulePolicy, "_prediction_states", states_both_ways)
        assert (ours.probabilities, ours.events, ours.hide_rule_turn, ours.is_end_to_end_prediction,
                ours.is_no_user_prediction) == (rasas.probabilities, rasas.events, rasas.hide_rule_turn,
                                                rasas.is_end_to_end_prediction, rasas.is_no_user_prediction)
        # The source is the rule that matched, or when none did a key made of the states, which
        # serves only to look up whether the turn is hidden: never a rule's key either way.
        rules = policy.lookup["rules"]
        assert our_source == rasa_source or (our_source not in rules and rasa_source not in rules)
        return ours, our_source

    monkeypatch.setattr(RulePolicy, "_prediction_states", states_both_ways)
    monkeypatch.setattr(RulePolicy, "_predict", predict_both_ways)
    agent = Agent.load(str(servers.MODEL), action_endpoint=EndpointConfig(url="http://localhost:5055/webhook"))
    talk(agent, whole_conversations(), "states")
    assert len(compared) > 100 and max(compared) > 3 * rasa_fixes.longest_rule(next(
        c for c in _loaded_components(agent) if isinstance(c, RulePolicy))), "long conversations were compared"


def test_rule_matching_still_checks_the_first_turn_of_the_longest_rule():
    policy = RulePolicy.__new__(RulePolicy)  # the matching reads only the rule keys and the states
    greeted = {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}
    rule = json.dumps([{"prev_action": {"action_name": "utter_a"}}, greeted])
    short_rule = json.dumps([greeted])
    lookup = {rule: "utter_b", short_rule: "utter_c"}
    after_a = [{"prev_action": {"action_name": "utter_a"}}, greeted]
    after_other = [{"prev_action": {"action_name": "utter_other"}}, greeted]
    for states in (after_a, after_other, [greeted, *after_a], [greeted]):
        assert rasa_fixes.possible_rule_keys(policy, lookup, states) == RASA_OWN_POSSIBLE_KEYS(policy, lookup, states)
    assert rasa_fixes.possible_rule_keys(policy, lookup, after_a) == {rule, short_rule}
    assert rasa_fixes.possible_rule_keys(policy, lookup, after_other) == {short_rule}


def test_every_action_call_reaches_the_action_server_as_the_same_data(assistant, monkeypatch):
    payloads = []

    def recorded(action, tracker, domain):
        payload = RASA_OWN_CALL_FORMAT(action, tracker, domain)
        payloads.append(payload)
        return payload

    monkeypatch.setattr(RemoteAction, "_action_call_format", recorded)
    monkeypatch.setattr(EndpointConfig, "session", rasa_fixes.endpoint_session)
    agent = Agent.load(str(servers.MODEL), action_endpoint=EndpointConfig(url="http://localhost:5055/webhook"))
    talk(agent, whole_conversations(), "json")
    assert len(payloads) > 30 and max(len(p["tracker"]["events"]) for p in payloads) >= 100
    for payload in payloads:
        assert json.loads(ujson.dumps(payload)) == json.loads(json.dumps(payload))


def test_the_endpoint_session_is_rasas_but_for_its_json_encoder():
    async def compare() -> None:
        for endpoint in (EndpointConfig(url="http://localhost:1/x"),
                         EndpointConfig(url="http://localhost:1/x", headers={"X-Check": "1"},
                                        basic_auth={"username": "u", "password": "p"})):
            rasas, ours = RASA_OWN_SESSION(endpoint), rasa_fixes.endpoint_session(endpoint)
            try:
                assert (ours.headers, ours.auth, ours.timeout) == (rasas.headers, rasas.auth, rasas.timeout)
                assert ours.json_serialize is ujson.dumps and rasas.json_serialize is json.dumps
            finally:
                await rasas.close()
                await ours.close()

    asyncio.run(compare())


def test_the_graphs_run_without_dask_give_the_same_conversations(assistant, monkeypatch):
    ran = []

    def counted(runner, inputs=None, targets=None):
        ran.append(targets)
        return rasa_fixes.run_graph(runner, inputs, targets)

    endpoint = EndpointConfig(url="http://localhost:5055/webhook")
    rasas = talk(Agent.load(str(servers.MODEL), action_endpoint=endpoint), whole_conversations(), "dask")
    monkeypatch.setattr(DaskGraphRunner, "run", counted)
    ours = talk(Agent.load(str(servers.MODEL), action_endpoint=endpoint), whole_conversations(), "in-order")
    assert len(ran) > 150 and {tuple(targets) for targets in ran} == {("run_RegexMessageHandler",), ("select_prediction",)}
    assert sum(len(events) for events in ours) > 300
    assert ours == rasas


def _loaded_components(agent: Agent) -> list:
    """The components of the loaded model's prediction graph."""
    return [node._component for node in agent.processor.graph_runner._instantiated_nodes.values()]


def test_the_fixes_are_installed_only_for_the_pinned_rasa(monkeypatch):
    assert rasa.__version__ == rasa_fixes.FIXED_VERSION, "a new Rasa: check whether each fix is still needed"
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RASA_OWN_CHECK)
    monkeypatch.setattr(Event, "resolve_by_type", RASA_OWN_RESOLVE)
    monkeypatch.setattr(RulePolicy, "_rule_key_to_state", RASA_OWN_DECODE)
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", RASA_OWN_POSSIBLE_KEYS)
    monkeypatch.setattr(RulePolicy, "_prediction_states", RASA_OWN_STATES)
    monkeypatch.setattr(EndpointConfig, "session", RASA_OWN_SESSION)
    monkeypatch.setattr(DaskGraphRunner, "run", RASA_OWN_RUN)
    monkeypatch.setattr(MessageProcessor, "handle_message", RASA_OWN_HANDLE)
    monkeypatch.setattr(EndpointConfig, "request", RASA_OWN_REQUEST)
    monkeypatch.setattr(DialogueStateTracker, "applied_events", applied_events.RASA_OWN)
    monkeypatch.setattr(rasa, "__version__", "9.9.9")
    assert rasa_fixes.apply() is False
    assert RemoteAction._validate_action_result is RASA_OWN_CHECK
    assert Event.resolve_by_type is RASA_OWN_RESOLVE
    assert RulePolicy.__dict__["_rule_key_to_state"] is RASA_OWN_DECODE
    assert RulePolicy.__dict__["_get_possible_keys"] is RASA_OWN_POSSIBLE_KEYS
    assert RulePolicy._prediction_states is RASA_OWN_STATES
    assert EndpointConfig.session is RASA_OWN_SESSION
    assert DaskGraphRunner.run is RASA_OWN_RUN
    assert MessageProcessor.handle_message is RASA_OWN_HANDLE
    assert EndpointConfig.request is RASA_OWN_REQUEST
    assert DialogueStateTracker.applied_events is applied_events.RASA_OWN

    monkeypatch.setattr(rasa, "__version__", rasa_fixes.FIXED_VERSION)
    assert rasa_fixes.apply() is True
    assert RemoteAction._validate_action_result is rasa_fixes.validate_action_response
    assert Event.resolve_by_type is rasa_fixes.resolve_event_type
    assert RulePolicy._rule_key_to_state is rasa_fixes.decoded_rule
    assert RulePolicy._get_possible_keys is rasa_fixes.possible_rule_keys
    assert RulePolicy._prediction_states is rasa_fixes.recent_prediction_states
    assert EndpointConfig.session is rasa_fixes.endpoint_session
    assert DaskGraphRunner.run is rasa_fixes.run_graph
    assert MessageProcessor.handle_message is rasa_fixes.handle_message_in_turn
    assert EndpointConfig.request.__wrapped__ is RASA_OWN_REQUEST
    assert DialogueStateTracker.applied_events is applied_events.applied_events


def test_rule_matching_starts_from_the_rules_that_can_follow_the_last_action_and_finds_what_rasa_finds():
    policy = RulePolicy.__new__(RulePolicy)
    listened = {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}
    after_text = {"prev_action": {"action_text": "hi there"}, "user": {"intent": "greet"}}
    start = {"user": {"intent": "greet"}}
    rules = [
        [listened], [start], [after_text], [{"prev_action": {"action_name": "utter_a"}}],
        [{"prev_action": {"action_name": "utter_a"}}, listened], [start, listened],
        [{"prev_action": {"action_name": SHOULD_NOT_BE_SET}}],
    ]
    lookup = {json.dumps(rule): f"utter_{number}" for number, rule in enumerate(rules)}
    conversations = [[start], [listened], [after_text], [start, listened], [{"prev_action": {"action_name": "utter_a"}}],
                     [{"prev_action": {"action_name": "utter_a"}}, listened], [{"prev_action": {"action_name": "utter_b"}}]]
    for states in conversations:
        assert rasa_fixes.possible_rule_keys(policy, lookup, states) == RASA_OWN_POSSIBLE_KEYS(policy, lookup, states)
    assert rasa_fixes.possible_rule_keys(policy, lookup, []) == set(lookup)


@pytest.mark.parametrize("preset, expected", [(None, 1), ("2", 2)])
def test_the_server_process_runs_numpy_with_one_thread_unless_the_deployment_says_otherwise(preset, expected):
    env = {key: value for key, value in os.environ.items() if key not in math_threads.ONE_THREAD}
    if preset:
        env["OPENBLAS_NUM_THREADS"] = preset
    probe = "import rasa_fixes, threadpoolctl; print(max(p['num_threads'] for p in threadpoolctl.threadpool_info()))"
    found = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    assert int(found.stdout.strip().splitlines()[-1]) == expected


def _same_events(ours: list, rasas: list) -> bool:
    return len(ours) == len(rasas) and all(a is b for a, b in zip(ours, rasas))


def test_applied_events_are_rasas_after_every_kind_of_event():
    """Restarts, sessions, reverts and forms rewrite what came before: the kept answer is not reused."""
    steps = [
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        UserUttered("hi", {"name": "greet"}), ActionExecuted("utter_greet"), ActionExecuted("action_listen"),
        UserUttered("check my leg", {"name": "start_leg_check"}), ActionExecuted("leg_check_form"),
        ActiveLoop("leg_check_form"), ActionExecuted("action_listen"), UserUttered("no", {"name": "deny"}),
        ActionExecuted("leg_check_form"), ActionExecuted("action_listen"), UserUttered("stop", {"name": "stop"}),
        UserUtteranceReverted(), ActionExecuted("leg_check_form"), ActiveLoop(None), ActionReverted(),
        ActionExecuted("action_listen"), Restarted(), ActionExecuted("action_listen"),
        UserUttered("bye", {"name": "goodbye"}), ActionExecuted("utter_goodbye"),
    ]
    tracker = DialogueStateTracker("s", [])
    for event in steps:
        tracker.update(event)
        assert _same_events(applied_events.applied_events(tracker), applied_events.RASA_OWN(tracker)), event
        assert _same_events(applied_events.applied_events(tracker), applied_events.RASA_OWN(tracker)), event


def test_applied_events_are_rasas_at_every_call_of_whole_conversations(assistant, monkeypatch):
    compared = []

    def both(tracker):
        ours = applied_events.applied_events(tracker)
        assert _same_events(ours, applied_events.RASA_OWN(tracker))
        compared.append(len(ours))
        return ours

    monkeypatch.setattr(DialogueStateTracker, "applied_events", both)
    agent = Agent.load(str(servers.MODEL), action_endpoint=EndpointConfig(url="http://localhost:5055/webhook"))
    talk(agent, whole_conversations(), "applied")
    assert len(compared) > 100 and max(compared) > 40, "long conversations were compared"
