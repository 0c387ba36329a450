"""SafetyNet: a deterministic crisis detector that runs after the intent classifier.

The trained classifier is the second net; this one never depends on training.
Patterns live in a data file (content/safety_patterns.yml by default), grouped in
families. When a family matches, the message's intent becomes that family's
intent (crisis or medical_emergency) with confidence 1.0, the family is recorded
under "safety_net" in the parse output, and a `crisis_family` entity lets the
reply name the right resources.

Matching is done on a normalised form of each token: lowercased, curly
apostrophes straightened, letter runs squeezed ("sooo" -> "so"), lemmatised by
the spaCy pipeline, with the data file's rewrites for slang and common typos
("kms" -> "kill myself") applied first. Words typed without spaces
("killmyself") are caught by comparing tokens with each phrase's compact form.
"""

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from spacy.language import Language
from spacy.matcher import Matcher

from components.risk_model import MAX_UNIT_CHARS, split_sentences
from components.time_frames import DEFAULT_PATH as DEFAULT_TIME_FRAMES
from components.time_frames import TimeFrames, load_time_frames
from threshold.content_files import read_content_file

logger = logging.getLogger(__name__)

SAFETY_NET_KEY = "safety_net"
FAMILY_ENTITY = "crisis_family"
GAP_TOKEN = "..."
NUMBER_TOKEN = "<number>"
LOOKAHEAD = 4
GAP_LENGTH = 5
MIN_COMPACT_LENGTH = 7

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_LONG_RUNS = re.compile(r"(\w)\1{2,}")
_ANY_RUNS = re.compile(r"(\w)\1+")


# Every key the patterns file may use: a misspelt one ("not_folowed_by") would otherwise
# drop its exceptions without a word.
TOP_LEVEL_KEYS = ("rewrites", "lemma_fixes", "unsure_words", "families")
FAMILY_KEYS = ("intent", "phrases", "not_followed_by", "examples", "idioms")


class SafetyPatternsError(ValueError):
    """The safety patterns file is missing or malformed."""


def _refuse_unknown_keys(data: Dict[Text, Any], known: Tuple[Text, ...], where: Text) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SafetyPatternsError(f"{where}: unknown key '{unknown[0]}' (expected: {', '.join(known)})")


def squeeze(word: Text) -> Text:
    """Collapse repeated letters, so 'killl', 'kill' and 'kil' compare equal."""
    return _ANY_RUNS.sub(r"\1", word)


@dataclass
class Family:
    name: Text
    intent: Text
    phrases: List[Text]
    not_followed_by: List[List[Text]]
    not_soon_followed_by: List[List[Text]]


class PatternSet:
    """The families of the patterns file compiled into one spaCy Matcher."""

    def __init__(self, data: Dict[Text, Any], nlp: Language, source: Text) -> None:
        self.nlp = nlp
        self.source = source
        _refuse_unknown_keys(data, TOP_LEVEL_KEYS, source)
        for field in ("rewrites", "lemma_fixes"):
            value = data.get(field) or {}
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise SafetyPatternsError(f"{source}: '{field}' must map words to words")
        self.rewrites = self._compile_rewrites(data.get("rewrites") or {})
        self.lemma_fixes = {squeeze(k): squeeze(v) for k, v in (data.get("lemma_fixes") or {}).items()}
        self.families: Dict[Text, Family] = {}
        self.matcher = Matcher(nlp.vocab)
        self.compact_forms: List[Tuple[Text, Text]] = []
        families = data.get("families")
        if not isinstance(families, dict) or not families:
            raise SafetyPatternsError(f"{source}: 'families' must map family names to patterns")
        for name, spec in families.items():
            self._add_family(name, spec)

    def _compile_rewrites(self, rewrites: Dict[Text, Text]) -> List[Tuple[re.Pattern, Text]]:
        compiled = []
        # Longest first, so "i'm gonna" wins over "gonna".
        for source in sorted(rewrites, key=len, reverse=True):
            pattern = re.compile(r"(?<![\w'])" + re.escape(source.lower()) + r"(?![\w'])")
            compiled.append((pattern, str(rewrites[source]).lower()))
        return compiled

    def _add_family(self, name: Text, spec: Any) -> None:
        if not isinstance(spec, dict) or spec.get("intent") not in ("crisis", "medical_emergency"):
            raise SafetyPatternsError(
                f"{self.source}: family '{name}' needs intent: crisis or intent: medical_emergency"
            )
        _refuse_unknown_keys(spec, FAMILY_KEYS, f"{self.source}: family '{name}'")
        for field in ("not_followed_by", "examples", "idioms"):
            value = spec.get(field) or []
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise SafetyPatternsError(
                    f"{self.source}: family '{name}': '{field}' must be a list of texts"
                )
        phrases = spec.get("phrases")
        if not isinstance(phrases, list) or not phrases:
            raise SafetyPatternsError(f"{self.source}: family '{name}' needs a list of phrases")
        exceptions = [str(p) for p in spec.get("not_followed_by") or []]
        right_after = [self.keys(p) for p in exceptions if not p.startswith(GAP_TOKEN)]
        soon_after = [self.keys(p[len(GAP_TOKEN) :].strip()) for p in exceptions if p.startswith(GAP_TOKEN)]
        self.families[name] = Family(name, spec["intent"], phrases, right_after, soon_after)
        patterns = []
        for phrase in phrases:
            tokens = self._phrase_tokens(name, phrase)
            patterns.append(tokens)
            self._add_compact_forms(name, phrase)
        self.matcher.add(name, patterns)

    def _word_key(self, word: Text) -> Text:
        doc = self.nlp(word)
        return " ".join(self._token_key(t) for t in doc)

    def _token_key(self, token) -> Text:
        lemma = squeeze(token.lemma_.lower() or token.lower_)
        return self.lemma_fixes.get(lemma, self.lemma_fixes.get(squeeze(token.lower_), lemma))

    def keys(self, text: Text) -> List[Text]:
        return [self._token_key(t) for t in self.nlp(self.normalise(text))]

    def _phrase_tokens(self, family: Text, phrase: Text) -> List[Dict[Text, Any]]:
        tokens: List[Dict[Text, Any]] = []
        for word in self.normalise(phrase).split():
            if word == GAP_TOKEN:
                tokens.extend({"OP": "?"} for _ in range(GAP_LENGTH))
                continue
            if word == NUMBER_TOKEN:
                tokens.append({"LIKE_NUM": True})
                continue
            optional = word.endswith("?") and len(word) > 1
            alternatives = word.rstrip("?").split("|")
            keys = set()
            for alternative in alternatives:
                key = self._word_key(alternative)
                if " " in key:
                    raise SafetyPatternsError(
                        f"{self.source}: family '{family}', phrase '{phrase}': "
                        f"'{alternative}' splits into several tokens; write them as separate words"
                    )
                keys.add(key)
            token: Dict[Text, Any] = {"NORM": {"IN": sorted(keys)}}
            if optional:
                token["OP"] = "?"
            tokens.append(token)
        if not tokens or all(t.get("OP") == "?" for t in tokens):
            raise SafetyPatternsError(f"{self.source}: family '{family}' has an empty phrase")
        return tokens

    def _add_compact_forms(self, family: Text, phrase: Text) -> None:
        words = self.normalise(phrase).split()
        if (
            GAP_TOKEN in words
            or NUMBER_TOKEN in words
            or any("|" in w or w.endswith("?") for w in words)
            or len(words) < 2
        ):
            return
        compact = squeeze("".join(words).replace("'", ""))
        if len(compact) >= MIN_COMPACT_LENGTH:
            self.compact_forms.append((compact, family))

    def normalise(self, text: Text) -> Text:
        text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
        text = _LONG_RUNS.sub(r"\1\1", text)
        for pattern, replacement in self.rewrites:
            text = pattern.sub(replacement, text)
        return text

    def match(self, text: Text) -> List[Tuple[Text, Text]]:
        """The families that match, each with the text that matched."""
        doc = self.nlp(self.normalise(text))
        for token in doc:
            token.norm_ = self._token_key(token)
        found: Dict[Text, Text] = {}
        for match_id, start, end in self.matcher(doc):
            family = self.nlp.vocab.strings[match_id]
            if family in found or self._is_excepted(family, doc, end):
                continue
            found[family] = doc[start:end].text
        for token in doc:
            squeezed = squeeze(token.lower_.replace("'", ""))
            for compact, family in self.compact_forms:
                if family not in found and compact in squeezed and len(squeezed) - len(compact) <= 3:
                    found[family] = token.text
        return list(found.items())

    def _is_excepted(self, family: Text, doc, end: int) -> bool:
        spec = self.families[family]
        following = [t.norm_ for t in doc[end : end + LOOKAHEAD + 2]]
        if any(following[: len(words)] == words for words in spec.not_followed_by):
            return True
        return any(
            following[start : start + len(words)] == words
            for words in spec.not_soon_followed_by
            for start in range(LOOKAHEAD)
        )


def matched_only_in_past(
    text: Text, patterns: PatternSet, time_frames: TimeFrames, matches: Iterable[Tuple[Text, Text]]
) -> bool:
    """True when the message, in English and of more than one sentence, has every pattern match
    inside sentences that tell of the past: no sentence of now matches, and every family matched
    in the whole text (a match may run across sentences) is matched within a past sentence."""
    sentences = split_sentences(text)
    if len(sentences) < 2 or len(text) > MAX_UNIT_CHARS:
        return False
    past_families = set()
    for sentence in sentences:
        found = patterns.match(sentence)
        if found and not time_frames.told_as_past(sentence):
            return False
        past_families.update(family for family, _ in found)
    return bool(past_families) and {family for family, _ in matches} <= past_families


def load_patterns(path: Path, nlp: Language) -> PatternSet:
    data = read_content_file(path, SafetyPatternsError, "the safety patterns file does not exist")
    if not isinstance(data, dict):
        raise SafetyPatternsError(f"{path}: expected a mapping with 'families'")
    return PatternSet(data, nlp, str(path))


def _share(config: Dict[Text, Any], name: Text) -> float:
    value = config.get(name) or 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise SafetyPatternsError(f"SafetyNet: `{name}` must be a number from 0 to 1, not {value!r}.")
    return float(value)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER],
    is_trainable=False,
    model_from="SpacyNLP",
)
class SafetyNet(GraphComponent):
    """Overrides the predicted intent when a crisis or emergency pattern matches."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # A crisis pattern the risk model scores below `check_below` gets the check-in
        # question (which carries the crisis line and the emergency number) instead of
        # the full reply: the words matched, the meaning did not ("my dad died by suicide
        # when I was 12; I'm doing well"). The floor still catches the message; only the
        # reply is softer. An emergency pattern is softened only below
        # `emergency_check_below`: a body in danger needs the emergency number first, and
        # short emergencies ("i think i'm having a stroke") can score low.
        #
        # A pattern found only in sentences that tell of the past ("I overdosed back in 2015. I've
        # been stable for years"; content/time_frames.yml) is left to the risk stage when it scores
        # the message under `check_below`: the model read the whole message, the pattern one
        # sentence without its time.
        return {
            "patterns": "content/safety_patterns.yml",
            "time_frames": "content/time_frames.yml",
            "check_below": 0.0,
            "emergency_check_below": 0.0,
        }

    @staticmethod
    def required_components() -> List[type]:
        return [SpacyNLP]

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.patterns_path = Path(config["patterns"])
        self.check_below = _share(config, "check_below")
        self.emergency_check_below = _share(config, "emergency_check_below")
        self.time_frames: TimeFrames = load_time_frames(config.get("time_frames") or DEFAULT_TIME_FRAMES)
        self._patterns: Optional[PatternSet] = None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SafetyNet":
        # Check the patterns file when the model loads, not at the first message:
        # a broken file stops the server with a message naming the family.
        import spacy

        load_patterns(Path(config["patterns"]), spacy.blank("en"))
        return cls(config)

    def patterns(self, model: SpacyModel) -> PatternSet:
        # Compiled on first use: the spaCy pipeline arrives with the messages.
        if self._patterns is None:
            self._patterns = load_patterns(self.patterns_path, model.model)
        return self._patterns

    def process(self, messages: List[Message], model: SpacyModel) -> List[Message]:
        patterns = self.patterns(model)
        for message in messages:
            text = message.get(TEXT)
            if not text or text.startswith("/"):
                continue
            self.apply_patterns(
                message, text, patterns, self.time_frames, self.check_below, self.emergency_check_below
            )
        return messages

    @classmethod
    def apply_patterns(
        cls,
        message: Message,
        text: Text,
        patterns: PatternSet,
        time_frames: TimeFrames,
        check_below: float = 0.0,
        emergency_check_below: float = 0.0,
    ) -> None:
        """The patterns' decision for one message (the evaluation scripts call this too)."""
        matches = patterns.match(text)
        stage = message.get("risk_stage") or {}
        # Looked at only when it could matter: a pattern matched, the risk model scored the
        # message under `check_below`, and the message is in English.
        only_in_past = (
            bool(matches)
            and stage.get("risk") is not None
            and stage["risk"] < check_below
            and stage.get("language") in (None, "en")
            and matched_only_in_past(text, patterns, time_frames, matches)
        )
        cls._apply(message, matches, patterns, check_below, emergency_check_below, only_in_past)

    def process_training_data(self, training_data, model: SpacyModel):
        return training_data

    @staticmethod
    def _apply(
        message: Message,
        matches: Iterable[Tuple[Text, Text]],
        patterns: PatternSet,
        check_below: float = 0.0,
        emergency_check_below: float = 0.0,
        only_in_past: bool = False,
    ) -> None:
        matches = list(matches)
        if not matches:
            message.set(SAFETY_NET_KEY, {"fired": False}, add_to_output=True)
            return
        # An emergency outranks the other families: the emergency number comes first.
        ordered = sorted(matches, key=lambda m: patterns.families[m[0]].intent != "medical_emergency")
        family, matched_text = ordered[0]
        intent = patterns.families[family].intent
        classifier_intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        stage = message.get("risk_stage") or {}
        risk = stage.get("risk")
        stage_intent = stage.get("intent")
        below = emergency_check_below if intent == "medical_emergency" else check_below
        # `only_in_past` is set (apply_patterns) only when the risk model scored the message
        # under `check_below`.
        if only_in_past and stage_intent != "medical_emergency":
            if intent == "crisis":
                # Told of the past, and the risk model finds no risk in the message: its reading
                # stands (content/time_frames.yml).
                message.set(
                    SAFETY_NET_KEY,
                    {
                        "fired": False,
                        "deferred_to": "told_as_past",
                        "families": [m[0] for m in ordered],
                        "classifier_intent": classifier_intent,
                    },
                    add_to_output=True,
                )
                return
            # A body in danger told of the past ("I overdosed back in 2015"): the check-in asks
            # directly, with the emergency number, instead of the emergency reply.
            below = check_below
        if risk is not None and risk < below and stage_intent != "medical_emergency":
            if stage_intent in ("crisis_info", "crisis_third_party"):
                # A study question or worry about someone else: its own reply asks directly.
                message.set(
                    SAFETY_NET_KEY,
                    {"fired": True, "family": family, "deferred_to": stage_intent},
                    add_to_output=True,
                )
                return
            intent = "crisis_check"
        elif intent == "crisis" and stage_intent in ("crisis_check", "medical_emergency"):
            # The risk model has already caught the message: its emergency reply leads with
            # the emergency number, and its check-in asks directly when it is unsure (a crisis
            # word inside "would rather die than sit in a waiting room").
            intent = stage_intent
        message.set(INTENT, {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}, add_to_output=True)
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != intent]
        message.set(
            INTENT_RANKING_KEY,
            [{INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}] + ranking,
            add_to_output=True,
        )
        entities = [e for e in message.get(ENTITIES) or [] if e.get("entity") != FAMILY_ENTITY]
        entities.append(
            {
                "entity": FAMILY_ENTITY,
                "value": family,
                "extractor": "SafetyNet",
                "start": 0,
                "end": 0,
                "confidence": 1.0,
            }
        )
        message.set(ENTITIES, entities, add_to_output=True)
        message.set(
            SAFETY_NET_KEY,
            {
                "fired": True,
                "family": family,
                "families": [m[0] for m in ordered],
                "matched": matched_text,
                "classifier_intent": classifier_intent,
            },
            add_to_output=True,
        )
        logger.debug("Safety net fired: family %s", family)
