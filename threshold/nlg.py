"""Reply templates filled in with the clinic's profile, inside the Rasa server.

Replies are fixed, reviewed text in data/responses/. Their {placeholders}
(clinic_name, booking_url, crisis_line, ...) and conditions
(clinic_has_booking_url) come from clinic.yml, so a clinic changes its details
without retraining, and the crisis replies carry the configured numbers even
when the action server is down.

When a message asked two questions (the intent classifier's `second_question` entity), the
answer to the first offers the second as its first button: one tap gets that answer too.

A response `utter_x` may have a translation `utter_x_<language>` (for example
utter_crisis_es); it is used when the `reply_language` slot (set by the
RiskStage) has that language. Set in endpoints.yml:

    nlg:
      type: threshold.nlg.ClinicResponseGenerator
"""

import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

import yaml
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from threshold import rasa_overrides
from threshold.clarify_options import fill_placeholders, load_clarify_options
from threshold.clinic_profile import ClinicProfile, process_profile
from threshold.content_files import read_content_file

logger = logging.getLogger(__name__)
LANGUAGE_SLOT = "reply_language"
SERVER_REPLIES_PATH = Path(__file__).resolve().parent.parent / "content" / "server_replies.yml"
REMINDER_RESPONSE = rasa_overrides.REMINDER_RESPONSE
CHECK_RESPONSE = "utter_crisis_check"
ANSWER_INTRO_RESPONSE = "utter_crisis_check_answer_intro"
ENGLISH_ONLY_RESPONSE = "utter_english_only_note"
OTHER_LANGUAGE_RESPONSE = "utter_other_language"
SAFETY_RESPONSES = ("utter_crisis", "utter_medical_emergency")
# The one-line replies of content/server_replies.yml, by key, and the responses they become.
LINE_REPLIES = {
    "crisis_reminder": REMINDER_RESPONSE,
    "check_in_answer_intro": ANSWER_INTRO_RESPONSE,
    "english_only_note": ENGLISH_ONLY_RESPONSE,
}
QUESTION_MARKS = re.compile("[?？]")
CONFIG_PATH = Path(__file__).resolve().parent.parent / "config.yml"
_LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")
SECOND_QUESTION_ENTITY = "second_question"
# The replies that answer a question, and so may offer a second question's answer.
ANSWER_RESPONSES = ("utter_answer_", "utter_pre_appointment_", "utter_book_appointment")


def fallback_thresholds(path: Path = CONFIG_PATH) -> Tuple[float, float]:
    """The FallbackClassifier's threshold and ambiguity_threshold in config.yml: how sure the
    classifier must be of an intent before the assistant answers it."""
    pipeline = (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("pipeline") or []
    for component in pipeline:
        if isinstance(component, dict) and component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3)), float(component.get("ambiguity_threshold", 0.1))
    raise ServerRepliesError(f"{path}: the pipeline has no FallbackClassifier")


class ServerRepliesError(ValueError):
    """content/server_replies.yml is missing or malformed."""


def load_server_replies(path: Path, known_responses) -> Dict[Text, List[Dict[Text, Any]]]:
    """The replies the server adds itself, as extra Rasa responses: its one-line replies
    (LINE_REPLIES, e.g. utter_crisis_reminder and utter_crisis_reminder_<language>) and
    utter_x_<language> translations."""
    data = read_content_file(path, ServerRepliesError, "the file does not exist")
    keys = (*LINE_REPLIES, "translations")
    if not isinstance(data, dict) or set(data) - set(keys):
        raise ServerRepliesError(f"{path}: expected the keys {', '.join(repr(k) for k in keys)} only")
    responses: Dict[Text, List[Dict[Text, Any]]] = {}
    for key, response in LINE_REPLIES.items():
        lines = data.get(key)
        if not isinstance(lines, dict) or not isinstance(lines.get("en"), str):
            raise ServerRepliesError(f"{path}: '{key}' needs an 'en' text")
        for language, text in lines.items():
            if not _LANGUAGE_CODE.match(str(language)) or not isinstance(text, str) or not text.strip():
                raise ServerRepliesError(f"{path}: {key}.{language} must be a text under a two-letter code")
            responses[response if language == "en" else f"{response}_{language}"] = [{"text": text}]
    for language, translated in (data.get("translations") or {}).items():
        if not _LANGUAGE_CODE.match(str(language)) or not isinstance(translated, dict):
            raise ServerRepliesError(
                f"{path}: translations.{language}: expected a two-letter code with responses"
            )
        for name, variants in translated.items():
            where = f"{path}: translations.{language}.{name}"
            if known_responses and name not in known_responses:
                raise ServerRepliesError(f"{where}: there is no response {name} in data/responses/")
            if (
                not isinstance(variants, list)
                or not variants
                or not all(
                    isinstance(v, dict) and isinstance(v.get("text"), str) and v["text"].strip()
                    for v in variants
                )
            ):
                raise ServerRepliesError(f"{where}: expected a list of variants, each with a text")
            responses[f"{name}_{language}"] = variants
    return responses


def first_reply_of_turn(tracker: DialogueStateTracker) -> bool:
    """Whether the assistant has said nothing yet since the person's latest message."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return True
        if isinstance(event, BotUttered):
            return False
    return True


class ClinicResponseGenerator(TemplatedNaturalLanguageGenerator):
    def __init__(
        self,
        endpoint_config: Any = None,
        domain: Optional[Domain] = None,
        profile: Optional[ClinicProfile] = None,
    ) -> None:
        super().__init__((domain or Domain.empty()).responses)
        self.profile = profile or process_profile()
        self.clinic_values = self.profile.template_values()
        logger.info("Clinic profile loaded from %s", self.profile.source)
        # The clarifying question's titles (content/clarify.yml) name the second question's button.
        self.question_titles = {
            intent: fill_placeholders(title, self.clinic_values)
            for intent, title in load_clarify_options(placeholders=self.clinic_values).titles.items()
        }
        self.sure_enough, self.clear_enough = fallback_thresholds()
        # The generator is built once per server: the place to install the reminder.
        rasa_overrides.install_crisis_reminder()

    # Rasa replaces `responses` with the model's domain responses when a model loads
    # (rasa.core.agent), so the server's own replies are merged in whenever it is set.
    @property
    def responses(self) -> Dict[Text, List[Dict[Text, Any]]]:
        return self._responses

    @responses.setter
    def responses(self, domain_responses: Dict[Text, List[Dict[Text, Any]]]) -> None:
        self._responses = {**domain_responses, **load_server_replies(SERVER_REPLIES_PATH, domain_responses)}

    def values_for(self, filled_slots: Dict[Text, Any]) -> Dict[Text, Any]:
        # Conversation slots never override the clinic's own details.
        return {**filled_slots, **self.clinic_values}

    async def generate(
        self,
        utter_action: Text,
        tracker: DialogueStateTracker,
        output_channel: Text,
        **kwargs: Any,
    ) -> Optional[Dict[Text, Any]]:
        slots = tracker.current_slot_values()
        response = self.generate_from_slots(utter_action, slots, output_channel, **kwargs)
        if utter_action == CHECK_RESPONSE:
            response = self.with_held_answer(response, tracker.latest_message, slots, output_channel)
        else:
            response = self.with_second_question(response, utter_action, tracker.latest_message)
        if first_reply_of_turn(tracker):
            response = self.with_english_only_note(response, utter_action, slots, output_channel)
        return response

    def with_english_only_note(
        self, response, utter_action: Text, slots: Dict[Text, Any], output_channel: Text
    ):
        """A reply in English to a message in another language opens with a line in that
        language saying the assistant answers in English (content/server_replies.yml), unless
        the reply has its own version in that language or says so itself. A crisis or emergency
        reply keeps its words first and ends with the line."""
        language = slots.get(LANGUAGE_SLOT)
        if (
            response is None
            or not response.get("text")
            or language in (None, "en")
            or utter_action == OTHER_LANGUAGE_RESPONSE
            or f"{utter_action}_{language}" in self.responses
        ):
            return response
        note = self.generate_from_slots(ENGLISH_ONLY_RESPONSE, slots, output_channel) or {}
        if not note.get("text"):
            return response
        if utter_action.startswith(SAFETY_RESPONSES):
            return {**response, "text": f"{response['text']}\n\n{note['text']}"}
        return {**response, "text": f"{note['text']}\n\n{response['text']}"}

    def held_question(self, message) -> Optional[Text]:
        """The answer response to the question a message also asked, when the risk stage
        turned it into a check-in: the classifier's first intent after the stage's, if the
        message asks something (a question mark), the classifier was as sure of it as of
        any answer it gives (the FallbackClassifier's thresholds) and it has an answer.
        A statement ("why am I still alive." or "I have the pills in my hand") gets the
        check-in alone: an article answer to it would read as not listening."""
        if message is None or not QUESTION_MARKS.search(message.text or ""):
            return None
        decided = (message.intent or {}).get("name")
        ranking = [
            r for r in (message.parse_data or {}).get("intent_ranking") or [] if r.get("name") != decided
        ]
        if not ranking:
            return None
        first = float(ranking[0].get("confidence") or 0.0)
        second = float(ranking[1].get("confidence") or 0.0) if len(ranking) > 1 else 0.0
        if first < self.sure_enough or first - second < self.clear_enough:
            return None
        intent = ranking[0].get("name")
        for name in (f"utter_answer_{intent}", f"utter_{intent}"):
            if name.startswith(ANSWER_RESPONSES) and name in self.responses:
                return name
        return None

    def with_held_answer(self, response, message, slots: Dict[Text, Any], output_channel: Text):
        """The check-in question first, then the answer to the question the person asked:
        doubt costs a question, and the person still gets what they came for. Only in
        English, the language of the answers."""
        if response is None or slots.get(LANGUAGE_SLOT) not in (None, "en"):
            return response
        answer_name = self.held_question(message)
        if answer_name is None:
            return response
        answer = self.generate_from_slots(answer_name, slots, output_channel) or {}
        intro = self.generate_from_slots(ANSWER_INTRO_RESPONSE, slots, output_channel) or {}
        if not answer.get("text") or not intro.get("text"):
            return response
        return {**response, "text": f"{response.get('text', '')}\n\n{intro['text']}\n\n{answer['text']}"}

    def with_second_question(self, response, utter_action: Text, message) -> Optional[Dict[Text, Any]]:
        """The answer to a message's first question, with a button for its second question."""
        if response is None or message is None or not utter_action.startswith(ANSWER_RESPONSES):
            return response
        second = next(
            (e.get("value") for e in message.entities or [] if e.get("entity") == SECOND_QUESTION_ENTITY),
            None,
        )
        answered = (message.intent or {}).get("name")
        if second in (None, answered) or second not in self.question_titles:
            return response
        button = {"title": self.question_titles[second], "payload": f"/{second}"}
        others = [b for b in response.get("buttons") or [] if b.get("payload") != button["payload"]]
        return {**response, "buttons": [button] + others}

    def generate_from_slots(
        self,
        utter_action: Text,
        filled_slots: Dict[Text, Any],
        output_channel: Text,
        **kwargs: Any,
    ) -> Optional[Dict[Text, Any]]:
        language = filled_slots.get(LANGUAGE_SLOT)
        if language and f"{utter_action}_{language}" in self.responses:
            utter_action = f"{utter_action}_{language}"
        return super().generate_from_slots(
            utter_action, self.values_for(filled_slots), output_channel, **kwargs
        )
