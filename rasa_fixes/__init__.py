"""Changes to Rasa 3.6.21 itself, applied in the Rasa server's process before it starts.

Only what a measurement showed to matter, each one keeping Rasa's behaviour:

- Rasa checks every action server response against a JSON schema with `jsonschema.validate`,
  which first re-checks the schema itself and builds a new validator: about a fifth of the Rasa
  server's time per message (py-spy; README, Measurements). The validator is built once instead;
  a malformed response still fails with the same error.
- Rasa finds each stored event's class by walking every subclass of `Event`, for every event of
  every conversation it loads: an eighth of the server's time in 40-message conversations.
  The classes are looked up by name instead.
- To load a trained DIET model, Rasa first trains it for one step on one example, only so that
  its weights exist before they are read: tracing the training graph (the entity CRF's loss
  above all) took 13 of the 17 s the model took to load, and the first answer came 20 s after
  start. For serving, one eager prediction creates the same weights; the training graph is
  traced only when a model is loaded to be fine-tuned. Loading now takes 3.5 s, the first answer
  7 s, and every held-out message is parsed exactly as before (tests/test_rasa_fixes.py).

The fixes are for this pinned version: with any other Rasa they are left out and a warning says so.
"""

from __future__ import annotations

import logging
from typing import Any

import rasa
from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.utils.tensorflow.constants import RUN_EAGERLY
from rasa.utils.tensorflow.models import RasaModel

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


_rasa_load_model = RasaModel.load.__func__


def load_model_for_serving(cls: type[RasaModel], model_file_name: str, model_data_example: Any,
                           predict_data_example: Any = None, finetune_mode: bool = False,
                           *args: Any, **kwargs: Any) -> RasaModel:
    """What `RasaModel.load` does, with the weights made by a prediction instead of a training
    step; Rasa's own when fine-tuning (it needs the optimizer) or with nothing to predict on."""
    if finetune_mode or predict_data_example is None:
        return _rasa_load_model(cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                                *args, **kwargs)
    model = cls(*args, **kwargs)
    model._run_eagerly = True  # a first prediction, eager, only to create the weights
    model.run_inference(predict_data_example)
    model._run_eagerly = kwargs.get("config", {}).get(RUN_EAGERLY)
    # The file also holds the optimizer's state, which serving never reads.
    model.load_weights(model_file_name).expect_partial()
    model.prepare_for_predict()  # the label embeddings, from the loaded weights this time
    model.run_inference(predict_data_example)  # traces the prediction graph, as Rasa does
    return model


def apply() -> bool:
    """Install the fixes; whether they were (not with a Rasa other than FIXED_VERSION)."""
    if rasa.__version__ != FIXED_VERSION:
        logger.warning("rasa_fixes are for Rasa %s, this is %s: left out", FIXED_VERSION, rasa.__version__)
        return False
    RemoteAction._validate_action_result = validate_action_response
    Event.resolve_by_type = staticmethod(resolve_event_type)
    RasaModel.load = classmethod(load_model_for_serving)
    return True

