"""The Rasa NLU components that read a message as a person meant it, and put safety before the
classifier, on every message.

`NormaliseText` runs first in `config.yml`'s pipeline, before the tokenizer: it replaces the
message's text with `pain_assistant.normalise.normalise(text)` ("k1ll", "ｄｒｏｏｐｉｎｇ",
"<b>ki</b>ll" become the words a person reads), at training and at run time, so the classifier,
the entity extractors and the red-flag check all read the same words. The conversation keeps the
text as typed: Rasa's processor stores `UserUttered(message.text, ...)` from the incoming
message, not from the pipeline's; only the parse data's copy of the text (with the entities'
offsets into it) is the normalised one.

`SafetyOverride` runs last in `config.yml`'s pipeline, after the classifier and the fallback, so what it sets
is final. Two detectors read every message: the lexicon (`knowledge/red_flags.yml`, the wordings
written down) and the learned classifier (`pain_assistant.red_flag_classifier`, their meaning);
`pain_assistant.safety_verdict` combines them so recall can only go up:
- a red flag: intent `red_flag` (confidence 1.0) and one `red_flag` entity per
  flag found, whose value is the flag id. Entities come in ascending severity, because Rasa fills
  the `red_flag` slot from the last one: the slot, and so the rule that picks the reply, get the
  most severe flag. A `red_flag_mention` entity carries the words that raised the most severe
  one, which the warning quotes ("You wrote “my face is drooping”."), or "" if they are too many.
- a possible one: intent `red_flag_check` and the suspected flag as the `red_flag` entity; a rule asks one
  question that names the number, and `pain_assistant.check_in_policy` warns unless the answer is no.
- otherwise a question about doses, timing, or starting, stopping or changing a medicine:
  intent `ask_dose` (confidence 1.0), so no answer can carry a dose.
If the classifier fails, the lexicon decides alone: a failing part never takes a warning down.

The red-flag file and the classifier are stored in the model when it is trained, so a running server detects
exactly the flags whose replies that model's domain holds, whatever the file says now; the
channels' input guard (`pain_assistant.incoming`) is handed the same detector when the model loads.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    INTENT,
    INTENT_RANKING_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from pain_assistant import incoming, red_flag_classifier, red_flags
from pain_assistant.dosing import is_dose_request
from pain_assistant.encoder import READING_VECTORS, encode
from pain_assistant.normalise import normalise
from pain_assistant.render_safety import CHECK_INTENT, MENTION, RED_FLAG_ENTITY, RED_FLAG_INTENT
from pain_assistant.safety_verdict import Raised, decide, mention

logger = logging.getLogger(__name__)

DOSE_INTENT = "ask_dose"
STORED_FILE = "red_flags.yml"
STORED_CLASSIFIER = "red_flag_classifier.npz"
# Intents whose training examples are not everyday messages: they do not teach the classifier "ordinary".
_NOT_EVERYDAY = frozenset({RED_FLAG_INTENT, CHECK_INTENT})
# Detection needs only the patterns; the replies' numbers are filled in when the domain is rendered.
_PLACEHOLDERS_AS_IS = {name: "{" + name + "}" for name in red_flags.PLACEHOLDERS}


def detector_from_text(text: str, source: str) -> red_flags.RedFlagDetector:
    path = Path(source)
    return red_flags.parse(yaml.safe_load(text), path, _PLACEHOLDERS_AS_IS, dt.date.today())


# A message tokenizer to Rasa's recipe, which runs tokenizers and featurizers in the pipeline's
# order on the training data and on every message; not a `Tokenizer`, so the pipeline's one
# tokenizer stays WhitespaceTokenizer.
@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class NormaliseText(GraphComponent):
    """Replaces each message's text with its normalised form, before the tokenizer reads it."""

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> NormaliseText:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            normalise_message(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            normalise_message(message)
        return training_data


def normalise_message(message: Message) -> None:
    """Normalise the message's text, and move its entity annotations (training examples have
    them) to the same words. An example whose annotations cannot be moved onto the same words
    keeps its text as typed: a misplaced annotation would teach the extractor wrong words."""
    text = message.get(TEXT)
    if not text:
        return
    normalised = normalise(text)
    if normalised == text:
        return
    annotations = message.get(ENTITIES)
    if annotations:
        moved = [_moved(annotation, text, normalised) for annotation in annotations]
        if None in moved:
            return
        message.set(ENTITIES, moved)
    message.set(TEXT, normalised)


def _moved(annotation: dict[str, Any], text: str, normalised: str) -> dict[str, Any] | None:
    start, end = annotation[ENTITY_ATTRIBUTE_START], annotation[ENTITY_ATTRIBUTE_END]
    words = normalise(text[start:end])
    new_start = len(normalise(text[:start]))
    if normalised[new_start:new_start + len(words)] != words:
        return None
    return {**annotation, ENTITY_ATTRIBUTE_START: new_start, ENTITY_ATTRIBUTE_END: new_start + len(words)}


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SafetyOverride(GraphComponent):
    """Overrides the classifier's intent for red flags and dose questions."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"red_flags_file": str(red_flags.DEFAULT_RED_FLAGS_FILE)}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        detector: red_flags.RedFlagDetector | None = None,
        classifier: red_flag_classifier.RedFlagClassifier | None = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._detector = detector
        self._classifier = classifier

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> SafetyOverride:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Validate the red-flag file (a broken one fails training), train the classifier on the
        collected examples and the NLU's own, and store both in the model."""
        path = Path(self._config["red_flags_file"])
        text = path.read_text(encoding="utf-8")
        self._detector = detector_from_text(text, str(path))
        everyday = [m.get(TEXT) for m in training_data.intent_examples if m.get(INTENT) not in _NOT_EVERYDAY]
        crisis_flags = [flag.id for flag in self._detector.flags if flag.severity == "crisis"]
        trained = red_flag_classifier.train(red_flag_classifier.collect(everyday, normalise), encode, crisis_flags)
        self._classifier = trained.classifier
        logger.info("Red-flag classifier trained: %s", trained.classifier.thresholds)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / STORED_FILE).write_text(text, encoding="utf-8")
            trained.classifier.save(directory / STORED_CLASSIFIER)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SafetyOverride:
        with model_storage.read_from(resource) as directory:
            text = (directory / STORED_FILE).read_text(encoding="utf-8")
            classifier = red_flag_classifier.RedFlagClassifier.load(directory / STORED_CLASSIFIER)
        detector = detector_from_text(text, f"model:{STORED_FILE}")
        incoming.use_model_detector(detector)  # the channels' input guard checks with this one too
        return cls(config, model_storage, resource, detector, classifier)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._override(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def _override(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        if self._detector is None or not text:
            return
        entities = list(message.get(ENTITIES) or [])
        thresholds = self._classifier.thresholds if self._classifier else None
        dose = is_dose_request(text, any(e.get("entity") == "medicine" for e in entities))
        verdict = decide(text, self._detector.detect(text), self._suspicion(message, text), thresholds, dose)
        if verdict.outcome != "answer":
            for raised in reversed(verdict.flags):  # ascending severity: the slot takes the last
                entities.append(self._entity(RED_FLAG_ENTITY, raised.flag_id, raised))
            # Always set, "" when nothing can be quoted, so no earlier message's words are quoted.
            entities.append(self._entity(MENTION, mention(text, verdict.flags[0]), verdict.flags[0]))
            message.set(ENTITIES, entities, add_to_output=True)
            self._set_intent(message, RED_FLAG_INTENT if verdict.outcome == "warn" else CHECK_INTENT)
        elif dose:
            self._set_intent(message, DOSE_INTENT)

    def _suspicion(self, message: Message, text: str) -> red_flag_classifier.Suspicion | None:
        """The classifier's judgement, or None without one (or if it fails: the lexicon alone then)."""
        if self._classifier is None:
            return None
        try:
            return self._classifier.judge(text, message.get(READING_VECTORS), encode)
        except Exception:  # noqa: BLE001 - a failing classifier must not take the lexicon's warning down
            logger.exception("The red-flag classifier failed; the lexicon decides alone for this message.")
            return None

    def _entity(self, name: str, value: str, raised: Raised) -> dict[str, Any]:
        return {
            "entity": name,
            "value": value,
            "start": raised.start,
            "end": raised.end,
            "confidence_entity": 1.0,
            "extractor": type(self).__name__,
        }

    @staticmethod
    def _set_intent(message: Message, name: str) -> None:
        intent = {"name": name, "confidence": 1.0}
        ranking = [intent] + [i for i in (message.get(INTENT_RANKING_KEY) or []) if i.get("name") != name]
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

