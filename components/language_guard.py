"""LanguageGuard: notices messages that are not in English.

The assistant answers in English only. A message whose words are mostly unknown
to English keeps the intent the classifier is sure of (its multilingual sentence
embedding reads the meaning: "¿Cuánto cuesta una sesión?" is a question about cost),
and its reply in English opens with a line in the person's language saying so
(threshold/nlg.py). When the classifier is less sure but has a likely guess, the message
gets the clarifying question (intent `nlu_fallback`, its guesses as buttons: one tap gets
the answer), as an unsure English message does. With no likely guess, the message gets the
intent `other_language` (confidence 1.0), and its reply says politely that the assistant
answers in English and gives the crisis line. The RiskStage and the SafetyNet run
after this component, so risk in any language still gets the safety replies.

Known words: the English word forms of the spaCy lookup lemmatizer, English stop
words, and every word of the English training examples (not of `other_language` ones,
nor of examples written in another language), collected at training time and stored
in the model.
"""

import json
import re
from typing import Any, Dict, List, Optional, Set, Text

from rasa.engine.graph import GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from spacy.lang.en.stop_words import STOP_WORDS

from components.languages import message_language, mostly_another_script
from threshold.clarify_options import LANGUAGE_GUARD_KEY

OTHER_LANGUAGE = "other_language"
FALLBACK = "nlu_fallback"
# Common words of the languages people most often write in instead; a message of
# unknown Latin-script words without any of them is more likely a typo or noise.
FOREIGN_LANGUAGES = ("es", "fr", "de", "pt", "it", "nl", "pl", "tr", "id", "tl", "vi", "ro")


def _foreign_stop_words() -> Set[Text]:
    import importlib

    words: Set[Text] = set()
    for code in FOREIGN_LANGUAGES:
        words |= set(importlib.import_module(f"spacy.lang.{code}.stop_words").STOP_WORDS)
    return {w.lower() for w in words} - set(STOP_WORDS)


FOREIGN_STOP_WORDS = _foreign_stop_words()
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def words_of(text: Text) -> List[Text]:
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1]


def has_words_of_another_language(text: Text) -> bool:
    """Mostly another script, or a common word of another language: a message that words
    unknown to English may still carry meaning for the multilingual sentence embedding."""
    letters = [c for c in text if c.isalpha()]
    return (bool(letters) and mostly_another_script(letters)) or any(
        w in FOREIGN_STOP_WORDS for w in words_of(text)
    )


def written_in_another_language(text: Text) -> Optional[Text]:
    """The language of a text with words of another language ("es", "zh"...), or None for
    English and for text too short to tell. Short English is often misread by the language
    identifier ("how do i book" as Polish), so only a text with words of another language is
    asked."""
    if not has_words_of_another_language(text):
        return None
    language = message_language(text)
    return None if language in (None, "en") else language


def looks_foreign(text: Text, known: Set[Text], min_words: int, max_known_share: float) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False  # emoji, numbers, punctuation: not a language question
    if mostly_another_script(letters):
        return True
    words = words_of(text)
    if len(words) < min_words:
        return False
    if not any(w in FOREIGN_STOP_WORDS and w not in known for w in words):
        return False
    return sum(w in known for w in words) / len(words) <= max_known_share


def check_thresholds(config: Dict[Text, Any]) -> None:
    """Both thresholds are numbers from 0 to 1, the clarifying one not above the other."""
    for field in ("keep_intent_above", "clarify_above"):
        value = config.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(
                f"config.yml, LanguageGuard: '{field}' must be a number from 0 to 1, got {value!r}"
            )
    if config["clarify_above"] > config["keep_intent_above"]:
        raise ValueError(
            "config.yml, LanguageGuard: 'clarify_above' must not be above 'keep_intent_above', "
            f"got {config['clarify_above']!r} and {config['keep_intent_above']!r}"
        )


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True, model_from="SpacyNLP"
)
class LanguageGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "min_words": 2,
            "max_known_share": 0.34,
            # A message in another language keeps the classifier's intent when it is at least
            # this sure of it; below, the clarifying question or the other-language reply.
            "keep_intent_above": 0.6,
            # Below that, the clarifying question with the classifier's guesses as buttons when its
            # best guess is at least this: the clarifying question's own floor for a real contender
            # (threshold/clarify_options.py, MIN_FIRST_CONFIDENCE). Below, the other-language reply
            # (also sent by the clarifying question when it finds no guess to offer as a button).
            "clarify_above": 0.2,
            # Answers to "are you safe?" and to the first-session guide's questions: a guess in
            # another language is not taken as the person's answer.
            "never_kept": ["safe_now", "not_safe", "affirm", "deny", "skip_question", "nlu_fallback"],
        }

    @staticmethod
    def required_components() -> List[type]:
        return [SpacyNLP]

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        known: Optional[Set[Text]] = None,
    ) -> None:
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        self.known: Set[Text] = known or set()

    @classmethod
    def create(cls, config, model_storage, resource, execution_context) -> "LanguageGuard":
        check_thresholds(config)
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData, model: SpacyModel) -> Resource:
        known = set(STOP_WORDS)
        if model.model.has_pipe("lemmatizer"):
            table = model.model.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
            known.update(w.lower() for w in table.values())
            forms = {
                model.model.vocab.strings[key] for key in table.keys() if key in model.model.vocab.strings
            }
            known.update(w.lower() for w in forms)
        for example in training_data.intent_examples:
            text = example.get(TEXT) or ""
            # Examples in other languages teach the classifier what they mean, not that their
            # words are English.
            if example.get(INTENT) != OTHER_LANGUAGE and written_in_another_language(text) is None:
                known.update(words_of(text))
        with self.model_storage.write_to(self.resource) as directory:
            (directory / "known_words.json").write_text(json.dumps(sorted(known)))
        self.known = known
        return self.resource

    @classmethod
    def load(cls, config, model_storage, resource, execution_context, **kwargs) -> "LanguageGuard":
        check_thresholds(config)
        with model_storage.read_from(resource) as directory:
            known = set(json.loads((directory / "known_words.json").read_text()))
        return cls(config, model_storage, resource, known)

    def keeps_intent(self, message: Message) -> bool:
        """Whether the classifier is sure enough of a foreign message's intent to answer it."""
        intent = message.get(INTENT) or {}
        return intent.get(INTENT_NAME_KEY) not in (None, *self.config["never_kept"]) and float(
            intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0
        ) >= float(self.config["keep_intent_above"])

    def best_guess(self, message: Message) -> Dict[Text, Any]:
        """The classifier's most likely intent, whatever the FallbackClassifier decided."""
        ranking = [
            r
            for r in message.get(INTENT_RANKING_KEY) or []
            if r.get(INTENT_NAME_KEY) not in (FALLBACK, OTHER_LANGUAGE)
        ]
        return max(ranking, key=lambda r: float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0), default={})

    def asks_which(self, guess: Dict[Text, Any]) -> bool:
        """Whether an unsure foreign message is worth a clarifying question: its best guess is
        likely enough, and not an answer to a question (never taken from a guess)."""
        return guess.get(INTENT_NAME_KEY) not in (None, *self.config["never_kept"]) and float(
            guess.get(PREDICTED_CONFIDENCE_KEY) or 0.0
        ) >= float(self.config["clarify_above"])

    def process(self, messages: List[Message], model: SpacyModel) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/") or not looks_foreign(
                text, self.known, self.config["min_words"], self.config["max_known_share"]
            ):
                continue
            message.set(LANGUAGE_GUARD_KEY, {"foreign": True}, add_to_output=True)
            if self.keeps_intent(message):
                continue
            guess = self.best_guess(message)
            if self.asks_which(guess):
                confidence = float(guess.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
                fallback = {INTENT_NAME_KEY: FALLBACK, PREDICTED_CONFIDENCE_KEY: confidence}
                message.set(INTENT, dict(fallback), add_to_output=True)
                ranking = [
                    r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != FALLBACK
                ]
                message.set(INTENT_RANKING_KEY, [fallback] + ranking, add_to_output=True)
                continue
            message.set(
                INTENT, {INTENT_NAME_KEY: OTHER_LANGUAGE, PREDICTED_CONFIDENCE_KEY: 1.0}, add_to_output=True
            )
            ranking = [
                r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != OTHER_LANGUAGE
            ]
            message.set(
                INTENT_RANKING_KEY,
                [{INTENT_NAME_KEY: OTHER_LANGUAGE, PREDICTED_CONFIDENCE_KEY: 1.0}] + ranking,
                add_to_output=True,
            )
        return messages

    def process_training_data(self, training_data: TrainingData, model: SpacyModel) -> TrainingData:
        return training_data
