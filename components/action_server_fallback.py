"""ActionServerFallbackPolicy: a short static reply when a custom action fails.

Rasa 3.6 logs a custom action that fails (action server down, an error, or no
answer within the timeout), drops its events and carries on, so the person gets
no reply at all. It also waits up to five minutes for a slow action server. This
policy shortens that wait to `action_timeout_seconds` (threshold/action_server.py,
which also makes Rasa check the action server's answers faster) and, when one of `actions`
ran this turn without sending anything, predicts `response`: a static domain
response, so the turn always ends with a reply. A rule in data/rules/ waits for
the person after that response.

Its priority is above the RulePolicy's, so it wins the tie at confidence 1.0;
every other turn it predicts nothing.
"""
from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from threshold import rasa_overrides

# Rasa's own limit; a longer one would only make people wait longer.
RASA_REQUEST_TIMEOUT_SECONDS = 300


def failed_action_this_turn(tracker: DialogueStateTracker, actions: List[Text]) -> bool:
    """True when the last action of this turn is one of `actions` and nothing was
    sent since the person's last message."""
    for event in reversed(tracker.events):
        if isinstance(event, (UserUttered, BotUttered)):
            return False
        if isinstance(event, ActionExecuted):
            return event.action_name in actions
    return False


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class ActionServerFallbackPolicy(Policy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": 7, "actions": [], "response": None, "action_timeout_seconds": 5}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Optional[Any] = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self.actions, self.response, timeout = self._validated(config)
        rasa_overrides.configure_action_client(timeout)

    @staticmethod
    def _validated(config: Dict[Text, Any]):
        actions = config.get("actions")
        if not actions or not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise InvalidConfigException("ActionServerFallbackPolicy: `actions` must be a list of action names.")
        response = config.get("response")
        if not isinstance(response, str) or not response.startswith("utter_"):
            raise InvalidConfigException("ActionServerFallbackPolicy: `response` must name an utter_ response.")
        timeout = config.get("action_timeout_seconds")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= RASA_REQUEST_TIMEOUT_SECONDS:
            raise InvalidConfigException(
                "ActionServerFallbackPolicy: `action_timeout_seconds` must be a number of seconds "
                f"above 0 and at most {RASA_REQUEST_TIMEOUT_SECONDS}."
            )
        return actions, response, timeout

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        missing = [name for name in self.actions + [self.response] if name not in domain.action_names_or_texts]
        if missing:
            raise InvalidConfigException(f"ActionServerFallbackPolicy: not in the domain: {', '.join(missing)}.")
        with self._model_storage.write_to(self._resource):
            pass  # nothing to learn; the resource lets the model load this policy
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if failed_action_this_turn(tracker, self.actions):
            probabilities[domain.index_for_action(self.response)] = 1.0
        return self._prediction(probabilities)
