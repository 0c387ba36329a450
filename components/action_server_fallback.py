"""ActionServerFallbackPolicy: a short static reply when a custom action fails.

Rasa 3.6 logs a custom action that fails (action server down, an error, or no
answer within the timeout), drops its events and carries on, so the person gets
no reply at all. It also waits up to five minutes for a slow action server. This
policy shortens that wait to `action_timeout_seconds` (threshold/action_server.py,
which also makes Rasa check the action server's answers faster) and, when one of `actions`
ran this turn and left no event, predicts that action's response: a static domain
response, so the turn always ends with a reply. A rule in data/rules/ waits for
the person after that response. When the failed action is a form, the form is then
ended (`action_deactivate_loop`): Rasa would otherwise run it again at once.

Its priority is above the RulePolicy's, so it wins the tie at confidence 1.0;
every other turn it predicts nothing.
"""

from typing import Any, Dict, Iterable, List, Optional, Text

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_DEACTIVATE_LOOP_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from components.untrained_policy import UntrainedPolicy
from threshold import rasa_overrides
from threshold.clarify_options import found_in_another_language

# Rasa's own limit; a longer one would only make people wait longer.
RASA_REQUEST_TIMEOUT_SECONDS = 300


def failed_action(tracker: DialogueStateTracker, actions: Iterable[Text]) -> Optional[Text]:
    """The last action of this turn when it is one of `actions` and it left no event at all
    (Rasa logs a failed action with none); else None. A form that finishes sends no message
    but sets slots and ends its loop: that is not a failure."""
    latest = tracker.events[-1] if tracker.events else None
    if isinstance(latest, ActionExecuted) and latest.action_name in actions:
        return latest.action_name
    return None


def leave_failed_loop(tracker: DialogueStateTracker, replies: Dict[Text, Text]) -> bool:
    """A form whose action failed has had its note: it is ended, or Rasa would run it (and
    fail) again at once. The rules in data/rules/ then wait for the person."""
    loop = tracker.active_loop_name
    return loop in replies and tracker.latest_action_name == replies[loop]


def failed_action_this_turn(tracker: DialogueStateTracker, actions: Iterable[Text]) -> bool:
    return failed_action(tracker, actions) is not None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class ActionServerFallbackPolicy(UntrainedPolicy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "priority": 7,
            "actions": [],
            "response": None,
            "in_another_language": {},
            "action_timeout_seconds": 5,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Optional[Any] = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self.replies, timeout = self._validated(config)
        self.replies_in_another_language = self._validated_in_another_language(config, self.replies)
        rasa_overrides.configure_action_client(timeout)

    @staticmethod
    def _validated_in_another_language(
        config: Dict[Text, Any], replies: Dict[Text, Text]
    ) -> Dict[Text, Text]:
        """`in_another_language`: for some of `actions`, the response instead when the LanguageGuard
        found the message is not in English."""
        mapping = config.get("in_another_language") or {}
        if not isinstance(mapping, dict):
            raise InvalidConfigException(
                "ActionServerFallbackPolicy: `in_another_language` must map action names to responses."
            )
        for action, response in mapping.items():
            if action not in replies:
                raise InvalidConfigException(
                    f"ActionServerFallbackPolicy: `in_another_language` names `{action}`, "
                    "which is not in `actions`."
                )
            if not isinstance(response, str) or not response.startswith("utter_"):
                raise InvalidConfigException(
                    "ActionServerFallbackPolicy: `in_another_language`: the response for "
                    f"`{action}` must name an utter_ response."
                )
        return dict(mapping)

    def reply_for(self, failed: Text, tracker: DialogueStateTracker) -> Text:
        """The failed action's response, in its version for a message in another language if any."""
        parse = tracker.latest_message.parse_data if tracker.latest_message else None
        if found_in_another_language(parse) and failed in self.replies_in_another_language:
            return self.replies_in_another_language[failed]
        return self.replies[failed]

    @staticmethod
    def _validated(config: Dict[Text, Any]):
        """`actions`: a list of action names that all get `response`, or a mapping of each
        action name to its own response."""
        actions = config.get("actions")
        if isinstance(actions, dict):
            if config.get("response") is not None:
                raise InvalidConfigException(
                    "ActionServerFallbackPolicy: `response` is not used when `actions` maps each action "
                    "to its own response; remove it."
                )
            replies = dict(actions)
        elif actions and isinstance(actions, list) and all(isinstance(a, str) for a in actions):
            replies = {action: config.get("response") for action in actions}
        else:
            raise InvalidConfigException(
                "ActionServerFallbackPolicy: `actions` must be a list of action names (with `response`) "
                "or a mapping of action names to responses."
            )
        if not replies or not all(isinstance(a, str) for a in replies):
            raise InvalidConfigException(
                "ActionServerFallbackPolicy: `actions` must name at least one action."
            )
        for action, response in replies.items():
            if not isinstance(response, str) or not response.startswith("utter_"):
                raise InvalidConfigException(
                    f"ActionServerFallbackPolicy: the response for `{action}` must name an utter_ response."
                )
        timeout = config.get("action_timeout_seconds")
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout <= RASA_REQUEST_TIMEOUT_SECONDS
        ):
            raise InvalidConfigException(
                "ActionServerFallbackPolicy: `action_timeout_seconds` must be a number of seconds "
                f"above 0 and at most {RASA_REQUEST_TIMEOUT_SECONDS}."
            )
        return replies, timeout

    def missing_from(self, domain: Domain) -> List[Text]:
        names = (
            list(self.replies) + list(self.replies.values()) + list(self.replies_in_another_language.values())
        )
        return [name for name in dict.fromkeys(names) if name not in domain.action_names_or_texts]

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        failed = failed_action(tracker, self.replies)
        if failed:
            probabilities[domain.index_for_action(self.reply_for(failed, tracker))] = 1.0
        elif leave_failed_loop(tracker, self.replies):
            probabilities[domain.index_for_action(ACTION_DEACTIVATE_LOOP_NAME)] = 1.0
        else:
            return self._prediction(probabilities)
        # Inside a form the RulePolicy predicts "run the form" or "listen" regardless of the
        # message, which Rasa's ensemble puts first; marked the same, this one wins by priority.
        return self._prediction(probabilities, is_no_user_prediction=True)
