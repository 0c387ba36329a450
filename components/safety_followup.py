"""SafetyFollowUpPolicy: after "are you safe right now?", only a clear yes counts as safe.

Rules match one intent at a time, so "i'm not sure", "I guess", "idk" or a change
of subject after the crisis question fell through to whatever those intents mean
elsewhere (a goodbye, an exercise offer, "I didn't understand"). This policy
looks at the answer to the safety question and decides the reply:

- a clear yes (`safe_now`, or `affirm` with confidence and no hedge word from
  `unsure_words` in the patterns file) -> `safe_response`;
- a no (`deny`, `not_safe`) -> `not_safe_response`;
- a new crisis or emergency -> nothing here (the crisis rules answer it);
- anything else -> `unsure_response`, which gives the emergency number and the
  crisis line and asks again; a second answer that is not a clear yes gets
  `not_safe_response`.
After the check-in question (`check_response`, "are you having thoughts of
suicide?"), a yes is a crisis, a clear no gets `check_no_response`, and anything
else is treated as unsure.

Its priority is above the RulePolicy's, so it wins the tie at confidence 1.0;
every other turn it predicts nothing. Rules in data/rules/safety.yml wait for
the person after its replies.
"""

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Text

import yaml
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from components.untrained_policy import UntrainedPolicy

ALARM_INTENTS = {"crisis", "medical_emergency"}
_WORDS = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def load_unsure_words(path: Path) -> Set[Text]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    words = data.get("unsure_words")
    if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
        raise InvalidConfigException(f"{path}: 'unsure_words' must be a list of words")
    return {w.strip().lower() for w in words}


def is_clear_yes(event: UserUttered, unsure_words: Set[Text], min_confidence: float) -> bool:
    intent = event.intent or {}
    text = (event.text or "").lower().replace("\u2019", "'")
    if intent.get("name") not in ("affirm", "safe_now"):
        return False
    if text.startswith("/"):
        return True  # a button: the safe-now payload, or a yes typed as a payload
    if (intent.get("confidence") or 0) < min_confidence:
        return False
    return "?" not in text and not any(word in unsure_words for word in _WORDS.findall(text))


def question_answered(tracker: DialogueStateTracker) -> Optional[Text]:
    """The bot's last action before the person's latest message, when that message is the latest event."""
    events = list(tracker.events)
    if not events or not isinstance(events[-1], UserUttered):
        # Rasa runs action_extract_slots and slot events after the message.
        latest_user = next(
            (i for i in range(len(events) - 1, -1, -1) if isinstance(events[i], UserUttered)), None
        )
        if latest_user is None or any(
            isinstance(e, ActionExecuted) and e.action_name not in ("action_extract_slots",)
            for e in events[latest_user + 1 :]
        ):
            return None
    else:
        latest_user = len(events) - 1
    for event in reversed(events[:latest_user]):
        if isinstance(event, ActionExecuted) and event.action_name not in (
            ACTION_LISTEN_NAME,
            "action_extract_slots",
        ):
            return event.action_name
        if isinstance(event, UserUttered):
            return None
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class SafetyFollowUpPolicy(UntrainedPolicy):
    RESPONSE_KEYS = (
        "safe_response",
        "not_safe_response",
        "unsure_response",
        "check_response",
        "check_no_response",
        "crisis_response",
    )

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "priority": 8,
            "patterns": "content/safety_patterns.yml",
            "min_yes_confidence": 0.7,
            "crisis_response": "utter_crisis",
            "safe_response": "utter_crisis_safe",
            "not_safe_response": "utter_crisis_not_safe",
            "unsure_response": "utter_crisis_unsure",
            "check_response": "utter_crisis_check",
            "check_no_response": "utter_crisis_check_no",
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
        for key in self.RESPONSE_KEYS:
            if not str(config.get(key, "")).startswith("utter_"):
                raise InvalidConfigException(f"SafetyFollowUpPolicy: `{key}` must name an utter_ response.")
        self.responses = {key: config[key] for key in self.RESPONSE_KEYS}
        self.unsure_words = load_unsure_words(Path(config["patterns"]))
        self.min_confidence = float(config["min_yes_confidence"])

    def missing_from(self, domain: Domain) -> List[Text]:
        return [name for name in self.responses.values() if name not in domain.action_names_or_texts]

    def reply_to(self, asked: Text, answer: UserUttered) -> Optional[Text]:
        """The response for `answer` to the question asked by `asked`, or None to leave it to the rules."""
        r = self.responses
        intent = (answer.intent or {}).get("name")
        if intent in ALARM_INTENTS:
            return None
        if asked in (r["crisis_response"], r["unsure_response"]):
            if is_clear_yes(answer, self.unsure_words, self.min_confidence):
                return r["safe_response"]
            if intent in ("deny", "not_safe") or asked == r["unsure_response"]:
                return r["not_safe_response"]
            return r["unsure_response"]
        if asked == r["check_response"]:
            if intent in ("affirm", "not_safe"):
                return r["crisis_response"]
            if intent in ("deny", "safe_now") and not any(
                w in self.unsure_words - {"no", "not"} for w in _WORDS.findall((answer.text or "").lower())
            ):
                return r["check_no_response"]
            return r["unsure_response"]
        return None

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        asked = question_answered(tracker)
        answer = tracker.latest_message
        if asked and isinstance(answer, UserUttered):
            reply = self.reply_to(asked, answer)
            if reply:
                probabilities[domain.index_for_action(reply)] = 1.0
        return self._prediction(probabilities)
