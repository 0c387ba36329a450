"""Ask instead of guessing: the clarifying question when the classifier is unsure.

The FallbackClassifier (config.yml) sets the intent nlu_fallback when the classifier's
best confidence is under its threshold or its top two are within its ambiguity
threshold; the message's intent_ranking still holds the classifier's guesses. The rule
on nlu_fallback (data/rules/conversation.yml) runs this action. It offers the likely
guesses as buttons whose payloads are /<intent>, so one tap gets the answer through the
ordinary rules, with a last "something else" button. With no likely guess it sends the
fallback reply, as the rule did before, or for a message in another language the reply that
says the assistant answers in English (the LanguageGuard asks for the question when the
classifier is unsure of a message in another language).

The question is the response utter_clarify (data/responses/conversation.yml), filled
with the clinic's values by the server like every reply; the button titles come from
content/clarify.yml, validated when the action server starts (actions/__init__.py).
Crisis, safety and other-language intents are never offered, and the question is never
asked when the risk stage, the safety net or the language guard has set the intent.
"""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import CLARIFY, CLINIC
from actions.conversation import button
from threshold.clarify_options import (
    FALLBACK_INTENT,
    NEVER_OFFERED,
    ClarifyOptions,
    fill_placeholders,
    found_in_another_language,
)

QUESTION_RESPONSE = "utter_clarify"
QUESTION_IN_ANOTHER_LANGUAGE_RESPONSE = "utter_clarify_another_language"
FALLBACK_RESPONSE = "utter_fallback"
OTHER_LANGUAGE_RESPONSE = "utter_other_language"


def _set_by_a_later_stage(latest_message: Dict[Text, Any]) -> bool:
    """True unless the message is the FallbackClassifier's: any other intent (a safety
    intent, other_language) was set on purpose, and a safety or language intent at full
    confidence anywhere in the ranking was set by the risk stage, safety net or language guard."""
    intent = (latest_message.get("intent") or {}).get("name")
    if intent != FALLBACK_INTENT:
        return True
    return any(
        entry.get("name") in NEVER_OFFERED
        and entry.get("name") != FALLBACK_INTENT
        and (entry.get("confidence") or 0) >= 1.0
        for entry in latest_message.get("intent_ranking") or []
    )


class ActionClarify(Action):
    def __init__(self, options: ClarifyOptions = CLARIFY, clinic_values: Dict[Text, Any] = None) -> None:
        self.options = options
        self.clinic_values = CLINIC.template_values() if clinic_values is None else clinic_values

    def name(self) -> Text:
        return "action_clarify"

    def _button(self, intent: Text, title: Text) -> Dict[Text, Any]:
        return button(fill_placeholders(title, self.clinic_values), f"/{intent}")

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List:
        latest = tracker.latest_message or {}
        guesses = (
            [] if _set_by_a_later_stage(latest) else self.options.likely_intents(latest.get("intent_ranking"))
        )
        foreign = found_in_another_language(latest)
        if not guesses:
            # A message in another language with no guess to offer gets the reply that says the
            # assistant answers in English (components/language_guard.py asked for the question).
            dispatcher.utter_message(response=OTHER_LANGUAGE_RESPONSE if foreign else FALLBACK_RESPONSE)
            return []
        buttons = [self._button(intent, self.options.titles[intent]) for intent in guesses]
        if self.options.something_else:
            buttons.append(self._button(*self.options.something_else))
        # In another language the question keeps the numbers of the note it replaces.
        dispatcher.utter_message(
            response=QUESTION_IN_ANOTHER_LANGUAGE_RESPONSE if foreign else QUESTION_RESPONSE, buttons=buttons
        )
        return []
