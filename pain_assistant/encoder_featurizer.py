"""The Rasa component that encodes each message once with the sentence encoder
(`pain_assistant.encoder`) and hands the vector to every later component.

It goes after `pain_assistant.rasa_components.NormaliseText` in `config.yml`'s pipeline, so it
encodes the text as a person reads it ("k1ll" as "kill"), the same words the classifier and the
red-flag check read. For each message with a text it:
- always stores the unit vector (float32, shape (384,)) on the message under `SENTENCE_VECTOR`,
  so later components (the learned red-flag classifier, a "did you mean" search) reuse it instead
  of running the encoder again, and, at run time, the vectors of all the message's readings
  (whole, then sentence by sentence) under `READING_VECTORS` for the red-flag classifier. Neither
  is an output property: the parse result stays JSON. At run time the vectors usually come ready
  from the input guard (`pain_assistant.encode_ahead`), which encodes off the event loop, in batches.
- with `add_feature: true` (the default), also adds it as a dense sentence feature of TEXT, which
  the intent classifiers join to the other featurizers' sentence features.

Only a sentence feature, no sequence (per-token) feature: the logistic-regression classifiers
read sentence features only, CRFEntityExtractor reads sequence features only (and so ignores
this one), and DIET handles the two kinds separately. Word pieces do not line up with the
whitespace tokenizer's tokens, so a sequence feature would need an alignment nobody uses.

Not trainable: it has nothing to learn or store, so a trained model holds only its config, and
the encoder loads (and checks its weights' hash) from the installed package when the model loads.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from pain_assistant import encode_ahead
from pain_assistant import encoder as sentence_encoder
from pain_assistant.rasa_components import NormaliseText
from pain_assistant.red_flag_classifier import readings

logger = logging.getLogger(__name__)

SENTENCE_VECTOR = sentence_encoder.SENTENCE_VECTOR
READING_VECTORS = sentence_encoder.READING_VECTORS
ADD_FEATURE = "add_feature"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Encodes each message's text once: a stored vector, and optionally a dense sentence feature."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [NormaliseText]

    @staticmethod
    def required_packages() -> list[str]:
        return ["transformers", "tokenizers", sentence_encoder.PACKAGE]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), ADD_FEATURE: True}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        pass

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        # Loaded (and hash-checked) when the model loads, not on the first patient's message.
        self._encoder = sentence_encoder.encoder()

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> SentenceEncoderFeaturizer:
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    def process(self, messages: list[Message]) -> list[Message]:
        """Each message's readings (whole, then sentence by sentence: what the red-flag classifier
        judges), taken from what the input guard encoded ahead, or encoded here. A failing encoder
        leaves the message without vectors (the red-flag lexicon then decides alone), never fails it."""
        for message in messages:
            text = message.get(TEXT)
            if text is None:
                continue
            vectors = encode_ahead.take(text)
            if vectors is None:
                try:
                    vectors = self._encoder.encode(readings(text))
                except Exception:  # noqa: BLE001 - a failing part must not take a red-flag warning down
                    logger.exception("The sentence encoder failed on a message; it goes on without vectors.")
                    self._add_feature(message, np.zeros(sentence_encoder.DIMENSIONS, np.float32))
                    continue
            message.set(READING_VECTORS, vectors)
            message.set(SENTENCE_VECTOR, vectors[0])
            self._add_feature(message, vectors[0])
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Encodes the examples that have a text (Core's intent-only examples have none) in one call, whole only."""
        with_text = [message for message in training_data.training_examples if message.get(TEXT) is not None]
        vectors = self._encoder.encode([message.get(TEXT) for message in with_text])
        for message, vector in zip(with_text, vectors):
            message.set(SENTENCE_VECTOR, vector)
            self._add_feature(message, vector)
        return training_data

    def _add_feature(self, message: Message, vector: np.ndarray) -> None:
        if self._config[ADD_FEATURE]:
            message.add_features(Features(vector[None, :], FEATURE_TYPE_SENTENCE, TEXT, self._identifier))
