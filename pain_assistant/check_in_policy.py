"""What follows the answer to a red-flag check-in question, decided without the action server.

When the safety component suspects a red flag but is not sure, the message gets intent
`red_flag_check` and the rendered rules ask one check-in question (`utter_red_flag_check_<kind>`,
with buttons) instead of answering. This policy decides the turn right after that question, from
the tracker alone:
- "No" (intent `deny`, the button or typed): the question held back is answered
  (`action_answer_held_question`); if the action server is down, Rasa's fallback says so;
- anything else (`affirm`, `not_sure`, any other intent, `nlu_fallback`, an empty message): the
  flag's full warning, `utter_red_flag_<slot red_flag>`, a domain response like every warning;
then it listens. A red flag found for certain in the reply (intent `red_flag`) and Rasa's own
intents (/restart, /back, /session_start) are left to the rules, and so is every other turn.

It ranks above RulePolicy (config.yml), so at equal confidence it wins over the rule that answers
a "yes" or "no" with nothing asked.
"""

from __future__ import annotations

from typing import Any

from rasa.core.constants import POLICY_PRIORITY, RULE_POLICY_PRIORITY
from rasa.core.policies.policy import Policy, PolicyPrediction, confidence_scores_for
from rasa.core.policies.rule_policy import DEFAULT_ACTION_MAPPINGS
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from pain_assistant.render_safety import CHECK_RESPONSES, RED_FLAG_INTENT, RED_FLAG_SLOT, response_name

HELD_ANSWER_ACTION = "action_answer_held_question"  # actions/answers.py
NO_INTENT = "deny"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=True)
class CheckInPolicy(Policy):
    """Answers the turn after a red-flag check-in question; predicts nothing on any other."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {POLICY_PRIORITY: RULE_POLICY_PRIORITY + 1}

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        """Nothing to learn; the empty resource is what Rasa loads the policy from."""
        with self._model_storage.write_to(self._resource):
            pass
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        action = next_action(list(tracker.applied_events()), tracker.get_slot(RED_FLAG_SLOT))
        if action is None or action not in domain.action_names_or_texts:
            return self._prediction(self._default_predictions(domain))
        return self._prediction(confidence_scores_for(action, 1.0, domain))


def next_action(events: list[Event], flag_id: str | None) -> str | None:
    """The action to run next, if the latest message answers a check-in question; `flag_id` is
    the `red_flag` slot's value. After that action, `action_listen`."""
    user_at = next((at for at in range(len(events) - 1, -1, -1) if isinstance(events[at], UserUttered)), None)
    if user_at is None or not _follows_check(events[:user_at]):
        return None
    answer = _answer(events[user_at].intent_name, flag_id)
    done = [event.action_name for event in events[user_at + 1:] if isinstance(event, ActionExecuted)]
    if answer is None or not done:
        return answer
    return ACTION_LISTEN_NAME if done == [answer] else None


def _follows_check(events: list[Event]) -> bool:
    """Whether the bot's turn before the latest message asked a check-in question (in the same
    session: a person who comes back after the session expired starts afresh)."""
    for event in reversed(events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, ActionExecuted):
            if event.action_name in CHECK_RESPONSES:
                return True
            if event.action_name == ACTION_SESSION_START_NAME:
                return False
    return False


def _answer(intent: str | None, flag_id: str | None) -> str | None:
    if intent == RED_FLAG_INTENT or intent in DEFAULT_ACTION_MAPPINGS:
        return None
    if intent == NO_INTENT:
        return HELD_ANSWER_ACTION
    return response_name(flag_id) if flag_id else None
