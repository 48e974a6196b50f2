"""Changes to Rasa 3.6.21 itself, applied in the Rasa server's process before it starts.

Only what a measurement showed to matter, each one keeping Rasa's behaviour:

- Rasa checks every action server response against a JSON schema with `jsonschema.validate`,
  which first re-checks the schema itself and builds a new validator: about a fifth of the Rasa
  server's time per message (py-spy; README, Measurements). The validator is built once instead;
  a malformed response still fails with the same error.
- Rasa finds each stored event's class by walking every subclass of `Event`, for every event of
  every conversation it loads: an eighth of the server's time in 40-message conversations.
  The classes are looked up by name instead.
- Rasa's rule policy matches the conversation against its rules turn by turn, back to the start,
  and decodes each rule from JSON again for every turn it checks: a fifteenth of the server's time
  in 20-message conversations. Each rule is decoded once; the decoded rule is only ever read.
  And a rule applies to any turn further back than its own length, so the matching stops once it
  has gone further back than the longest rule still in play, instead of at the conversation's start;
  and each rule's turn is read from its end, where Rasa reverses the whole rule for every turn.
- For every prediction the rule policy also works out the state of every turn of the conversation
  (a quarter of the server's time in 20-message conversations, py-spy), though the matching reads
  only as many turns back as the longest rule. The conversation is still replayed from the start,
  but the states are worked out for those last turns only, each as Rasa works it out.
- Every action call sends the whole conversation to the action server as JSON, encoded by the
  standard library: a tenth of the server's time in 20-message conversations, a fifth in longer
  ones. It is encoded by ujson instead (three times faster); the action server reads the same data.
- Every message runs two graphs of a dozen components (the NLU pipeline, then the policies for
  each action), and Rasa hands each run to dask's scheduler, after working out again which
  components the targets need: an eighth of the server's time, around the components' own. The
  components are called here in the calling thread instead, each once its inputs are ready, as
  dask's synchronous scheduler calls them, with the components needed for each set of targets
  worked out once.
- Rasa works on every message at once, as it arrives, so under load each turn's CPU work is
  interleaved with all the others', and a turn back from the action server waits behind every
  turn that arrived meanwhile: at 20 patients p95 was 1.5 times the median. Turns are worked on
  two at a time instead, in the order they came, a turn back from another service first
  (`rasa_fixes.turn_gate`); a turn waiting on the action server for more than a quarter of a
  second gives its slot up, so a hung action server never holds up a red-flag warning.

- Every turn asks the conversation for its applied events again and again (the check-in policy
  and the rule states for each prediction, the action server's payload, the session check), and
  each time Rasa replays the whole conversation: a tenth of the server's time in 60-message
  conversations. The last answer is kept on the conversation and only events appended since are
  replayed (`rasa_fixes.applied_events`).
- numpy's and TensorFlow's thread pools spin between jobs and take CPU from the event loop:
  they get one thread each (`rasa_fixes.math_threads`).

- When the action server is down, hung or failing, Rasa waits up to 5 minutes and then sends
  nothing. An action call is given up after a few seconds instead, and the person is told to try
  again (`rasa_fixes.action_server_down`).

The fixes are for this pinned version: with any other Rasa they are left out and a warning says so.
"""

from __future__ import annotations

# First, before numpy or TensorFlow load: they size their thread pools once, from the environment.
from rasa_fixes import math_threads  # noqa: F401,I001

import functools
import logging
from typing import Any

import aiohttp
import rasa
import ujson
from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.policies.policy import SupportedData
from rasa.core.processor import MessageProcessor
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

from rasa_fixes import action_server_down, applied_events, turn_gate

logger = logging.getLogger(__name__)

FIXED_VERSION = "3.6.21"

_schema = RemoteAction.action_response_format_spec()
_validator_class = validators.validator_for(_schema)
_validator_class.check_schema(_schema)
_action_response_validator = _validator_class(_schema)
_rasa_handle_message = MessageProcessor.handle_message
_rasa_request = EndpointConfig.request


def validate_action_response(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """What `RemoteAction._validate_action_result` does, with the validator built once."""
    error = best_match(_action_response_validator.iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the "
        f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


_rasa_resolve_by_type = Event.resolve_by_type
_event_types: dict[str, type[Event]] = {}


def resolve_event_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """What `Event.resolve_by_type` does, from a table of the classes by name. The table is
    rebuilt when a name is missing (a class imported since), then Rasa's own lookup decides."""
    if type_name not in _event_types:
        _event_types.clear()
        for event_type in reversed(all_subclasses(Event)):  # reversed: the first in Rasa's order wins
            _event_types[event_type.type_name] = event_type
    return _event_types.get(type_name) or _rasa_resolve_by_type(type_name, default)


# Rasa's decoding, kept for its own sake (json.loads of the rule key); bounded for safety across models.
decoded_rule = functools.lru_cache(maxsize=8192)(RulePolicy._rule_key_to_state)


def possible_rule_keys(policy: RulePolicy, lookup: dict[str, str], states: list[dict]) -> set[str]:
    """What `RulePolicy._get_possible_keys` does, without the turns that can no longer rule
    anything out (`_is_rule_applicable` is true of every rule further back than its length), and
    starting from the rules whose last turn can follow the conversation's last action, not all."""
    if not states:
        return set(lookup.keys())
    possible_keys = rules_ending_after(policy, lookup, states[-1].get(PREVIOUS_ACTION))
    longest_rule = max((len(decoded_rule(key)) for key in possible_keys), default=0)
    for turns_back, state in enumerate(reversed(states)):
        if turns_back >= longest_rule:
            break
        previous_action = state.get(PREVIOUS_ACTION)
        possible_keys = {key for key in possible_keys if rule_applies(decoded_rule(key), turns_back, state, previous_action)}
    return possible_keys


def rules_ending_after(policy: RulePolicy, lookup: dict[str, str], previous_action: dict | None) -> set[str]:
    """The keys of the rules whose last turn `rule_applies` to a conversation state with this
    previous action: a last turn without one only to a conversation start (no previous action),
    and one that names an action (`action_name` or `action_text`) only to a state with the same.
    Indexed once per policy and lookup: a policy's rules do not change once it is loaded."""
    indexes = policy.__dict__.setdefault("_rasa_fixes_rules_by_previous_action", {})
    if id(lookup) not in indexes:
        indexes[id(lookup)] = (lookup, _index_by_previous_action(lookup))  # the lookup kept: its id stays its own
    index = indexes[id(lookup)][1]
    if not previous_action:
        return set(index.get(None, ()))
    found = set(index.get("any", ()))
    for item in previous_action.items():
        found.update(index.get(item, ()))
    return found


def _index_by_previous_action(lookup: dict[str, str]) -> dict[Any, list[str]]:
    """Rule keys by a (key, value) their last turn's previous action requires; "any" for a
    previous action that requires none of its values, None for a last turn without one."""
    index: dict[Any, list[str]] = {}
    for key in lookup:
        previous = decoded_rule(key)[-1].get(PREVIOUS_ACTION)
        if not previous:
            bucket: Any = None
        else:
            required = [(name, value) for name, value in previous.items() if value and value != SHOULD_NOT_BE_SET]
            bucket = required[0] if required and isinstance(required[0][1], str) else "any"
        index.setdefault(bucket, []).append(key)
    return index


def rule_applies(rule: list[State], turns_back: int, state: State, previous_action: Any) -> bool:
    """What `RulePolicy._is_rule_applicable` says, reading the rule's turn from its end instead of
    reversing the whole rule for every turn of every rule."""
    if turns_back >= len(rule):
        return True  # further back than the rule's length
    rule_state = rule[-1 - turns_back]
    rule_previous_action = rule_state.get(PREVIOUS_ACTION)
    if not rule_previous_action and not previous_action:
        return True  # both conversation starts
    if not rule_previous_action or not previous_action:
        return False  # only one of them is
    return RulePolicy._does_rule_match_state(rule_state, state)


_rasa_prediction_states = RulePolicy._prediction_states


def recent_prediction_states(
    policy: RulePolicy,
    tracker: DialogueStateTracker,
    domain: Domain,
    use_text_for_last_user_input: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """The last turns of what `RulePolicy._prediction_states` gives: as many as its longest rule,
    which is all its matching reads (see `possible_rule_keys`). Each state stands alone (Rasa works
    out each turn's state from the tracker at that turn, and trims the user input of the last), so
    the last turns' states are Rasa's. Set up otherwise (a max_history, ML data only, which drop or
    hide turns), the policy gets Rasa's own."""
    featurizer = policy.featurizer
    if featurizer.max_history is not None or policy.supported_data() == SupportedData.ML_DATA:
        return _rasa_prediction_states(policy, tracker, domain, use_text_for_last_user_input, rule_only_data)
    # Copied two levels deep: choosing the user input deletes keys of the states' parts.
    states = [{part: dict(value) for part, value in state.items()}
              for state in last_turns_states(tracker, domain, longest_rule(policy))]
    featurizer._choose_last_user_input([states], use_text_for_last_user_input)
    return states


# The latest replay's tracker, last event and domain (the same objects), its number of events and
# of turns kept (equal numbers), and its states.
_latest_replay: list[Any] = []


def last_turns_states(tracker: DialogueStateTracker, domain: Domain, count: int) -> list[State]:
    """The states of the last `count` turns, as `Domain.states_for_tracker_history` works them out.
    A user's turn asks twice for the same tracker (matching the text, then the intent): the second
    time gets the states of the first, kept while the tracker holds the same events."""
    events = tracker.events
    key = (tracker, events[-1] if events else None, domain, len(events), count)
    if _latest_replay and all(a is b for a, b in zip(_latest_replay[0][:3], key)) and _latest_replay[0][3:] == key[3:]:
        return _latest_replay[1]
    applied = tracker.applied_events()
    first_kept = 1 + sum(isinstance(event, ActionExecuted) for event in applied) - count
    states: list[State] = []
    replay, turn = tracker.init_copy(), 0
    for event in applied:  # as `DialogueStateTracker.generate_all_prior_trackers`
        if isinstance(event, ActionExecuted):
            if turn >= first_kept:
                states.append(domain._clean_state(domain.get_active_state(replay)))
            turn += 1
        replay.update(event)
    states.append(domain._clean_state(domain.get_active_state(replay)))
    _latest_replay[:] = [key, states]
    return states


def longest_rule(policy: RulePolicy) -> int:
    """The number of turns of the policy's longest rule, happy or unhappy path (at least one),
    worked out once per policy: its rules do not change once it is loaded."""
    if "_rasa_fixes_longest_rule" not in policy.__dict__:
        lookups = (policy.lookup.get(RULES, {}), policy.lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {}))
        policy.__dict__["_rasa_fixes_longest_rule"] = max(
            (len(decoded_rule(key)) for lookup in lookups for key in lookup), default=1)
    return policy.__dict__["_rasa_fixes_longest_rule"]


def endpoint_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """What `EndpointConfig.session` makes, with request bodies encoded by ujson."""
    auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"]) if endpoint.basic_auth else None
    return aiohttp.ClientSession(headers=endpoint.headers, auth=auth, json_serialize=ujson.dumps,
                                 timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT))


def run_graph(runner: DaskGraphRunner, inputs: dict[str, Any] | None = None,
              targets: list[str] | None = None) -> dict[str, Any]:
    """What `DaskGraphRunner.run` returns: each needed node called once, after the nodes it needs,
    with their `(name, output)` results; each input is a `(name, value)` result of its own."""
    run_targets = targets if targets else runner._graph_schema.target_names
    schema = needed_nodes(runner, tuple(run_targets))
    results: dict[str, Any] = {}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and value in schema.nodes:
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure that none of the input names "
                "passed to the `run` method are the same as node names in the graph schema."
            )
        results[name] = (name, value)

    def result_of(name: str) -> Any:
        if name not in results:
            needs = [result_of(needed) for needed in schema.nodes[name].needs.values()]
            results[name] = runner._instantiated_nodes[name](*needs)
        return results[name]

    try:
        return dict(result_of(target) for target in run_targets)
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


def needed_nodes(runner: DaskGraphRunner, targets: tuple[str, ...]) -> GraphSchema:
    """`minimal_graph_schema` of the runner's graph for these targets, worked out once."""
    kept = runner.__dict__.setdefault("_rasa_fixes_needed_nodes", {})
    if targets not in kept:
        kept[targets] = runner._graph_schema.minimal_graph_schema(list(targets))
    return kept[targets]


async def handle_message_in_turn(processor: MessageProcessor, message: UserMessage) -> Any:
    """Rasa's `MessageProcessor.handle_message`, run once the turn has a slot (turn_gate)."""
    return await turn_gate.in_turn(lambda: _rasa_handle_message(processor, message))


def apply() -> bool:
    """Install the fixes; whether they were (not with a Rasa other than FIXED_VERSION)."""
    if rasa.__version__ != FIXED_VERSION:
        logger.warning("rasa_fixes are for Rasa %s, this is %s: left out", FIXED_VERSION, rasa.__version__)
        return False
    RemoteAction._validate_action_result = validate_action_response
    Event.resolve_by_type = staticmethod(resolve_event_type)
    RulePolicy._rule_key_to_state = staticmethod(decoded_rule)
    RulePolicy._get_possible_keys = possible_rule_keys
    RulePolicy._prediction_states = recent_prediction_states
    EndpointConfig.session = endpoint_session
    DaskGraphRunner.run = run_graph
    MessageProcessor.handle_message = handle_message_in_turn
    EndpointConfig.request = turn_gate.waits_elsewhere(_rasa_request, turn_gate.ACTION_SERVER_HOLD_S)
    DialogueStateTracker.applied_events = applied_events.applied_events
    action_server_down.apply()
    return True

