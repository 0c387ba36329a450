""" "Prepare for my first session": which message answers the guide's question, and the
person's summary at the end.

The guide is the Rasa form first_session_guide_form (domain.yml); its rules are in
data/rules/first_session_guide.yml and its questions in
data/responses/first_session_guide.yml. The summary's words come from
content/first_session_guide.yml, loaded and checked once when the action server starts.

What counts as an answer (`answer_to`): whatever the person types, except
- a risk message (the risk stage's and safety net's intents), "stop", "bye", deleting the
  conversation or asking for an exercise: the guide is left, by its rules;
- "skip" or "next" (or the Skip button): the question is skipped;
- a short no ("pass", "rather not", "no thanks"): the person declines the question, so it is
  skipped; except on the question that asks what was tried, where "nothing yet" or "no"
  is the answer;
- a question to the assistant (a clinic or article question, "help", ...) with a question
  mark: it is answered and the guide asks again. On the last question, which asks what the
  person would like to ask their therapist, a question is the answer;
- a short request to the assistant itself ("help", "are you a bot", "continue my notes",
  "book now"), with or without a question mark, on any question;
- another button's payload (a button of an earlier reply).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from threshold.article_topics import article_topics
from threshold.clinic_profile import PROJECT_ROOT
from threshold.content_files import read_content_file

CONTENT_PATH = PROJECT_ROOT / "content" / "first_session_guide.yml"
FORM_NAME = "first_session_guide_form"
# The form's questions, in the order domain.yml asks them (a test checks they agree).
GUIDE_SLOTS = ("guide_reason", "guide_change", "guide_tried", "guide_about_me", "guide_questions")
# The question whose answers are questions.
QUESTIONS_SLOT = "guide_questions"
# A skipped question's slot value: filled, so the form moves on, and left out of the summary.
SKIPPED = "__skipped__"
SKIP_INTENTS = frozenset({"skip_question", "next_step"})
# A short no declines the question: "pass" and "rather not" are the no's of every offer too,
# so the classifier cannot tell them from a skip.
DECLINE_INTENTS = frozenset({"deny"})
DECLINE_MAX_WORDS = 4
# Its question invites "nothing yet" (data/responses/first_session_guide.yml): a no answers it.
NO_IS_AN_ANSWER_SLOTS = frozenset({"guide_tried"})
# Messages that leave the guide (its rules give the reply).
LEAVE_INTENTS = frozenset(
    {
        "crisis",
        "medical_emergency",
        "crisis_check",
        "crisis_third_party",
        "crisis_info",
        "not_safe",
        "safe_now",
        "stop",
        "goodbye",
        "delete_conversation",
        "ask_exercise",
    }
)
# Questions to the assistant that are answered inside the guide (its rules give the answer).
ASIDE_INTENTS = frozenset(
    {
        *article_topics(),
        "pre_appointment_first_session",
        "pre_appointment_cost",
        "pre_appointment_confidentiality",
        "pre_appointment_session_length",
        "pre_appointment_online",
        "pre_appointment_cancellation",
        "pre_appointment_what_to_bring",
        "pre_appointment_how_many_sessions",
        "pre_appointment_choosing_therapist",
        "book_appointment",
        "chat_privacy",
        "help",
        "bot_challenge",
        "out_of_scope",
        "medical_advice",
        "prepare_first_session",
    }
)
QUESTION_MARKS = ("?", "？", "¿")
# Requests to the assistant itself ("help", "are you a bot", "continue my notes"): asides
# in a short message even without a question mark.
COMMAND_INTENTS = frozenset({"help", "bot_challenge", "prepare_first_session", "book_appointment"})
COMMAND_MAX_WORDS = 4
SUMMARY_RESPONSE = "utter_guide_summary"
EMPTY_SUMMARY_RESPONSE = "utter_guide_summary_empty"
# The widget shows copy, print and download buttons for a reply carrying this key.
SUMMARY_KEY = "guide_summary"
CONTENT_KEYS = ("title", "line", "labels")


class GuideContentError(ValueError):
    """content/first_session_guide.yml is missing or malformed."""


@dataclass(frozen=True)
class GuideContent:
    title: Text
    line: Text
    labels: Tuple[Tuple[Text, Text], ...]

    def summary(self, answers: Mapping[Text, Any]) -> Optional[Text]:
        """The person's answers under the title, one line each, in the order asked (no blank
        line: the website chat would split the notes there); None when every question was
        skipped."""
        lines = [
            self.line.replace("{label}", label).replace("{answer}", str(answers[slot]).strip())
            for slot, label in self.labels
            if isinstance(answers.get(slot), str) and answers[slot].strip() and answers[slot] != SKIPPED
        ]
        return "\n".join([self.title, *lines]) if lines else None


def _require(condition: bool, message: Text) -> None:
    if not condition:
        raise GuideContentError(message)


def parse_guide_content(data: Any, source: Text = "first_session_guide.yml") -> GuideContent:
    _require(isinstance(data, dict), f"{source}: expected a mapping with {', '.join(CONTENT_KEYS)}")
    unknown = sorted(str(key) for key in set(data) - set(CONTENT_KEYS))
    _require(not unknown, f"{source}: unknown key '{unknown[0] if unknown else ''}'")
    for key in ("title", "line"):
        _require(isinstance(data.get(key), str) and data[key].strip(), f"{source}: {key} must be a text")
    _require("{answer}" in data["line"], f"{source}: line must contain {{answer}}")
    labels = data.get("labels")
    _require(isinstance(labels, dict), f"{source}: labels must map each question's slot to its label")
    _require(
        tuple(labels) == GUIDE_SLOTS,
        f"{source}: labels must be exactly {', '.join(GUIDE_SLOTS)}, in that order (the guide's questions)",
    )
    for slot, label in labels.items():
        _require(isinstance(label, str) and label.strip(), f"{source}: labels.{slot} must be a text")
    return GuideContent(
        data["title"].strip(), data["line"], tuple((s, labels[s].strip()) for s in GUIDE_SLOTS)
    )


def load_guide_content(path: Optional[Path] = None) -> GuideContent:
    path = Path(path or CONTENT_PATH)
    data = read_content_file(path, GuideContentError, "the first-session guide's file does not exist")
    return parse_guide_content(data, str(path))


def answer_to(slot: Text, message: Mapping[Text, Any]) -> Optional[Text]:
    """What the latest message gives as the answer to `slot`'s question: its text, SKIPPED,
    or None when it is not an answer (see the module's docstring)."""
    text = (message.get("text") or "").strip()
    intent = (message.get("intent") or {}).get("name")
    if intent in SKIP_INTENTS:
        return SKIPPED
    if not text or text.startswith("/") or intent in LEAVE_INTENTS:
        return None
    declines = intent in DECLINE_INTENTS and len(text.split()) <= DECLINE_MAX_WORDS
    if declines and slot not in NO_IS_AN_ANSWER_SLOTS:
        return SKIPPED
    if intent in ASIDE_INTENTS and slot != QUESTIONS_SLOT and any(mark in text for mark in QUESTION_MARKS):
        return None
    if intent in COMMAND_INTENTS and len(text.split()) <= COMMAND_MAX_WORDS:
        return None
    return text


class ValidateFirstSessionGuideForm(FormValidationAction):
    def name(self) -> Text:
        return f"validate_{FORM_NAME}"

    def domain_slots(self, domain: Dict) -> List[Text]:
        # The action server is not sent the domain (enable_selective_domain in endpoints.yml).
        return list(GUIDE_SLOTS)

    async def extract_guide_reason(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _extracted("guide_reason", tracker)

    async def extract_guide_change(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _extracted("guide_change", tracker)

    async def extract_guide_tried(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _extracted("guide_tried", tracker)

    async def extract_guide_about_me(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _extracted("guide_about_me", tracker)

    async def extract_guide_questions(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        return _extracted("guide_questions", tracker)


def _extracted(slot: Text, tracker: Tracker) -> Dict[Text, Any]:
    """Only the question being asked takes the message; a message that is not an answer
    fills nothing, so the form rejects it and the guide's rules reply."""
    if tracker.get_slot("requested_slot") != slot:
        return {}
    answer = answer_to(slot, tracker.latest_message or {})
    return {} if answer is None else {slot: answer}


class ActionGuideSummary(Action):
    """The summary of the person's answers; the answers are then cleared, so the next
    guide starts fresh (they stay in the conversation's history until it is deleted)."""

    def __init__(self, content: Optional[GuideContent] = None) -> None:
        if content is None:
            from actions import GUIDE

            content = GUIDE
        self.content = content

    def name(self) -> Text:
        return "action_guide_summary"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List:
        summary = self.content.summary({slot: tracker.get_slot(slot) for slot in GUIDE_SLOTS})
        if summary is None:
            dispatcher.utter_message(response=EMPTY_SUMMARY_RESPONSE)
        else:
            dispatcher.utter_message(
                response=SUMMARY_RESPONSE, guide_summary=summary, json_message={SUMMARY_KEY: summary}
            )
        return [SlotSet(slot, None) for slot in GUIDE_SLOTS]
