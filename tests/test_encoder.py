"""The sentence encoder with the real model (no mocks): vectors that put similar messages close,
the same vector whether a text is encoded alone or in a batch, refusal of weights that are not
the pinned ones, and the Rasa featurizer that stores the vector and adds it as a feature."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from pain_assistant import encode_ahead, encoder
from pain_assistant.encoder_featurizer import ADD_FEATURE, READING_VECTORS, SENTENCE_VECTOR, SentenceEncoderFeaturizer
from pain_assistant.rasa_components import NormaliseText
from pain_assistant.red_flag_classifier import readings

LONG = " ".join(["the burning in my left leg gets worse when I walk and the tingling spreads to my hip"] * 12)
TEXTS = [
    "I want to end my life",
    "I am thinking about suicide",
    "my feet burn at night",
    "",
    "gabapentin",
    LONG,
    "Is it normal that baclofen makes me sleepy in the afternoon?",
] * 6


@pytest.fixture(scope="module")
def sentence_encoder() -> encoder.SentenceEncoder:
    return encoder.encoder()


def test_unit_vectors_of_the_right_shape(sentence_encoder):
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), encoder.DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, encoder.DIMENSIONS)


def test_similar_messages_are_closer_than_unrelated_ones(sentence_encoder):
    end_life, suicide, feet = encoder.encode(
        ["I want to end my life", "I am thinking about suicide", "my feet burn at night"]
    )
    assert end_life @ suicide > end_life @ feet + 0.2
    assert end_life @ suicide > suicide @ feet + 0.2


def test_a_batch_gives_the_vectors_one_at_a_time_gives(sentence_encoder):
    together = sentence_encoder.encode(TEXTS)
    alone = np.stack([sentence_encoder.encode([text])[0] for text in TEXTS])
    assert np.abs(together - alone).max() < 1e-5


def test_text_past_128_word_pieces_is_cut(sentence_encoder):
    longer = LONG + " and now my arms hurt too, and my neck, and my back, every single day"
    assert np.abs(sentence_encoder.encode([LONG]) - sentence_encoder.encode([longer])).max() < 1e-5


def test_the_tokenizer_splits_as_the_models_transformers_tokenizer_does(sentence_encoder):
    from transformers import BertTokenizerFast

    reference = BertTokenizerFast.from_pretrained(str(encoder.package_model_dir()), local_files_only=True)
    for text in TEXTS[:7]:
        expected = reference(text, truncation=True, max_length=encoder.MAX_TOKENS)["input_ids"]
        assert sentence_encoder._tokenizer.encode(text).ids == expected


def test_the_installed_weights_are_the_pinned_ones():
    assert encoder.file_sha256(encoder.package_model_dir() / encoder.WEIGHTS_FILE) == encoder.WEIGHTS_SHA256


def test_tampered_weights_are_refused(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(encoder.package_model_dir(), copy)
    weights = copy / encoder.WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))

    with pytest.raises(encoder.EncoderError) as refused:
        encoder.SentenceEncoder(copy)
    message = str(refused.value)
    assert str(weights) in message and encoder.WEIGHTS_SHA256 in message
    assert encoder.file_sha256(weights) in message


def test_missing_weights_are_refused(tmp_path):
    with pytest.raises(encoder.EncoderError, match="does not exist"):
        encoder.SentenceEncoder(tmp_path)


def featurizer(tmp_path: Path, **config) -> SentenceEncoderFeaturizer:
    return SentenceEncoderFeaturizer.create(
        {**SentenceEncoderFeaturizer.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("sentence_encoder"),
        ExecutionContext(GraphSchema({}), node_name="sentence_encoder"),
    )


def pipeline(messages: list[Message], component: SentenceEncoderFeaturizer) -> list[Message]:
    return component.process(NormaliseText().process(messages))


def test_the_featurizer_stores_the_vector_of_the_normalised_text_and_adds_it_as_a_feature(tmp_path, sentence_encoder):
    [message] = pipeline([Message(data={TEXT: "I want to k1ll myself"})], featurizer(tmp_path))

    expected = sentence_encoder.encode(["I want to kill myself"])[0]
    vector = message.get(SENTENCE_VECTOR)
    assert vector.shape == (encoder.DIMENSIONS,) and vector.dtype == np.float32
    assert np.abs(vector - expected).max() < 1e-5
    [feature] = message.features
    assert (feature.type, feature.attribute, feature.origin) == (FEATURE_TYPE_SENTENCE, TEXT, "sentence_encoder")
    assert feature.is_dense() and np.array_equal(feature.features, vector[None, :])
    assert SENTENCE_VECTOR not in message.as_dict(only_output_properties=True)


def test_without_the_feature_the_vector_is_still_stored(tmp_path):
    [message] = pipeline([Message(data={TEXT: "my feet burn at night"})], featurizer(tmp_path, **{ADD_FEATURE: False}))

    assert message.get(SENTENCE_VECTOR).shape == (encoder.DIMENSIONS,)
    assert message.features == []


def test_training_data_is_encoded_in_batches_to_the_same_vectors(tmp_path, sentence_encoder):
    texts = [f"{text} {number}" for number, text in enumerate(TEXTS)]
    examples = [Message(data={TEXT: text, "intent": "any"}) for text in texts] + [Message(data={"intent": "greet"})]
    training_data = TrainingData(examples)
    featurizer(tmp_path).process_training_data(training_data)

    *with_text, intent_only = training_data.training_examples
    vectors = np.stack([example.get(SENTENCE_VECTOR) for example in with_text])
    alone = np.stack([sentence_encoder.encode([text])[0] for text in texts])
    assert np.abs(vectors - alone).max() < 1e-5
    assert all(len(example.features) == 1 for example in with_text)
    assert intent_only.get(SENTENCE_VECTOR) is None and intent_only.features == []


def test_the_featurizer_stores_the_vectors_of_every_reading_the_red_flag_classifier_judges(tmp_path, sentence_encoder):
    text = "My legs ache at night. I want to kill myself. The physio helps."
    [message] = pipeline([Message(data={TEXT: text})], featurizer(tmp_path, **{ADD_FEATURE: False}))

    expected = sentence_encoder.encode(readings(text))
    assert len(expected) == 4 and np.abs(message.get(READING_VECTORS) - expected).max() < 1e-5
    assert np.array_equal(message.get(SENTENCE_VECTOR), message.get(READING_VECTORS)[0])


def test_the_featurizer_takes_what_the_input_guard_encoded_ahead(tmp_path, sentence_encoder):
    asyncio.run(encode_ahead.prepare("I want to k1ll myself"))
    prepared = encode_ahead.take("I want to kill myself")
    assert prepared is not None and np.abs(prepared[0] - sentence_encoder.encode(["I want to kill myself"])[0]).max() < 1e-5

    asyncio.run(encode_ahead.prepare("I want to k1ll myself"))
    [message] = pipeline([Message(data={TEXT: "I want to k1ll myself"})], featurizer(tmp_path))
    assert encode_ahead.take("I want to kill myself") is None  # taken by the featurizer, once
    assert np.abs(message.get(SENTENCE_VECTOR) - prepared[0]).max() < 1e-5
