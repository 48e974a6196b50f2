"""The intent classifier's quicker feature rows are exactly the ones Rasa's own code builds, for
one message (a turn) and for many (training), and its weights stored column by column give
exactly the probabilities they give stored row by row: on every held-out message through the
trained model."""

from __future__ import annotations

import asyncio
import copy

import numpy as np

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
    rows = classifier._create_X(every_message)
    assert same_matrix(rows, LogisticRegressionClassifier._create_X(classifier, every_message))

    assert classifier.clf.coef_.flags.f_contiguous
    row_by_row = copy.deepcopy(classifier.clf)
    row_by_row.coef_ = np.ascontiguousarray(row_by_row.coef_)
    assert (classifier.clf.predict_proba(rows) == row_by_row.predict_proba(rows)).all()
