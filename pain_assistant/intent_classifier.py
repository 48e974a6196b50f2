"""Rasa's logistic-regression intent classifier, with its regularisation strength in config.yml,
and quicker at classifying a message (1.2 -> 0.5 ms), with the same results.

Rasa 3.6's `LogisticRegressionClassifier` fixes scikit-learn's C at 1.0. On this project's data
that spreads the probabilities thin: a tenth of the held-out messages fell below the fallback's
0.5 and got "not sure" although the top intent was right. A weaker penalty (a larger C) keeps
the right intents above it; messages with words the model has never seen still fall below it.
The measurements behind the value in config.yml are in the README (Measurements).

Rasa builds each message's feature row through `Message.get_sparse_features` and
`get_dense_features`, which copy and join the per-word features too, only for them to be thrown
away, then stack the row with an empty block of dense features (this pipeline has none). The
row is now joined from the sentence features alone, in the same order. And scikit-learn
multiplies the row by the transposed weights, which it copied (37 intents x 6,674 features) on
every message, as they were stored row by row: they are now stored column by column, so the
transpose is read in place. The same numbers either way (tests/test_intent_classifier.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.linear_model import LogisticRegression

DEFAULT_C = 1.0


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class TunableLogisticRegressionClassifier(LogisticRegressionClassifier):
    """`LogisticRegressionClassifier` that reads `C` from its config."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": DEFAULT_C}

    def __init__(self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf = LogisticRegression(
            C=self.config["C"],
            solver=self.config["solver"],
            max_iter=self.config["max_iter"],
            class_weight="balanced",
            tol=self.config["tol"],
            random_state=self.config["random_state"],
        )

    def process(self, messages: list[Message]) -> list[Message]:
        if not self.clf.coef_.flags.f_contiguous:
            self.clf.coef_ = np.asfortranarray(self.clf.coef_)
        return super().process(messages)

    def _create_X(self, messages: list[Message]) -> csr_matrix:
        rows = []
        for message in messages:
            sentence = [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
            # Sparse first, then dense, each in the order the featurizers ran: as Rasa joins them.
            blocks = [f.features for f in sentence if f.is_sparse()] + [f.features for f in sentence if f.is_dense()]
            rows.append(hstack(blocks, format="csr"))
        return rows[0] if len(rows) == 1 else vstack(rows, format="csr")
