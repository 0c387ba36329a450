"""LeaveFormPolicy: a message that leaves a form never reaches the form.

Rasa 3.6's RulePolicy runs an active form first, whatever the message; only when the
form rejects it do the form's rules reply. The first-session guide's form asks the
action server which message is an answer, so with the action server down a risk
message inside the guide would get no crisis reply. This policy predicts
`action_deactivate_loop` first when a form is active and the person's latest intent
is one of `intents` (risk, "stop", "bye", ...); the rules in
data/rules/first_session_guide.yml then give the reply, from static responses.

Rasa's ensemble puts a prediction that does not depend on the person's message (the
RulePolicy's "run the active form") before any other; this one is marked the same way,
and its priority is above the RulePolicy's, so it wins. Every other turn it predicts nothing.
"""

from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_DEACTIVATE_LOOP_NAME, ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from components.untrained_policy import UntrainedPolicy


def leaves_the_form(tracker: DialogueStateTracker, intents) -> bool:
    """A form is active, the person has just written, and their intent is one of `intents`."""
    if tracker.active_loop_name is None or tracker.latest_action_name != ACTION_LISTEN_NAME:
        return False
    return (tracker.latest_message.intent or {}).get("name") in intents if tracker.latest_message else False


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class LeaveFormPolicy(UntrainedPolicy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": 7, "intents": []}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Optional[Any] = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        intents = config.get("intents")
        if not intents or not isinstance(intents, list) or not all(isinstance(i, str) for i in intents):
            raise InvalidConfigException("LeaveFormPolicy: `intents` must be a list of intent names.")
        self.intents = frozenset(intents)

    def missing_from(self, domain: Domain) -> List[Text]:
        return sorted(self.intents - set(domain.intents))

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if not leaves_the_form(tracker, self.intents):
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(ACTION_DEACTIVATE_LOOP_NAME)] = 1.0
        # The RulePolicy's "run the active form" is such a prediction, which the ensemble puts
        # before any other; marked the same, this one wins it by priority.
        return self._prediction(probabilities, is_no_user_prediction=True)
