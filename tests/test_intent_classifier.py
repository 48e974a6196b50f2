"""The intent classifier's quicker feature rows are exactly the ones Rasa's own code builds, for
one message (a turn) and for many (training), on every held-out message through the trained model."""

from __future__ import annotations

import asyncio

from rasa.core.agent import Agent
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.training_data.loading import load_data

from pain_assistant.intent_classifier import TunableLogisticRegressionClassifier
from tests import servers


def same_matrix(ours, rasas) -> bool:
    return ours.shape == rasas.shape and (ours != rasas).nnz == 0


def test_feature_rows_are_the_ones_rasa_builds(monkeypatch):
    seen = []
    process = TunableLogisticRegressionClassifier.process

    def process_and_record(self, messages):
        seen.append((self, messages))
        return process(self, messages)

    monkeypatch.setattr(TunableLogisticRegressionClassifier, "process", process_and_record)
    agent = Agent.load(str(servers.MODEL))
    texts = [example.get("text") for example in load_data(str(servers.ROOT / "tests" / "nlu_test.yml")).intent_examples]
    loop = asyncio.new_event_loop()
    for text in texts:
        loop.run_until_complete(agent.parse_message(text))
    loop.close()

    assert len(seen) == len(texts) > 200
    classifier = seen[0][0]
    for _, messages in seen:
        assert same_matrix(classifier._create_X(messages), LogisticRegressionClassifier._create_X(classifier, messages))
    every_message = [message for _, messages in seen for message in messages]
    assert same_matrix(classifier._create_X(every_message), LogisticRegressionClassifier._create_X(classifier, every_message))
