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
  has gone further back than the longest rule still in play, instead of at the conversation's start.

The fixes are for this pinned version: with any other Rasa they are left out and a warning says so.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import rasa
from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

logger = logging.getLogger(__name__)

FIXED_VERSION = "3.6.21"

_schema = RemoteAction.action_response_format_spec()
_validator_class = validators.validator_for(_schema)
_validator_class.check_schema(_schema)
_action_response_validator = _validator_class(_schema)


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
    anything out: `_is_rule_applicable` is true of every rule further back than its length."""
    possible_keys = set(lookup.keys())
    longest_rule = max((len(decoded_rule(key)) for key in possible_keys), default=0)
    for turns_back, state in enumerate(reversed(states)):
        if turns_back >= longest_rule:
            break
        possible_keys = {key for key in possible_keys if policy._is_rule_applicable(key, turns_back, state)}
    return possible_keys


def apply() -> bool:
    """Install the fixes; whether they were (not with a Rasa other than FIXED_VERSION)."""
    if rasa.__version__ != FIXED_VERSION:
        logger.warning("rasa_fixes are for Rasa %s, this is %s: left out", FIXED_VERSION, rasa.__version__)
        return False
    RemoteAction._validate_action_result = validate_action_response
    Event.resolve_by_type = staticmethod(resolve_event_type)
    RulePolicy._rule_key_to_state = staticmethod(decoded_rule)
    RulePolicy._get_possible_keys = possible_rule_keys
    return True

