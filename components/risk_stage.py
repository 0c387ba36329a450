"""RiskStage: every message, and every sentence of it, checked for risk.

Risk is its own stage, not a side effect of intent classification. It runs after
the intent classifier and the LanguageGuard and before the SafetyNet patterns
(which can only add recall). For each piece of the message (the whole message,
each sentence, windows of long unpunctuated runs; components/risk_model.py):

1. the quick model (n-grams) scores it;
2. pieces it is not sure are harmless, and every piece of a message that is not
   in English, are scored again by the full model (n-grams plus a multilingual
   sentence embedding);
3. the piece with the most risk decides:
   - risk to the writer (self, from others, to others) >= `crisis_threshold`:
     intent `crisis` with the kind as `crisis_family`;
   - a medical emergency >= `crisis_threshold` (or at least `emergency_share` of
     the risk: an overdose just taken is both): `medical_emergency`;
   - worry about someone else: `crisis_third_party` (`third_party_now` when it
     is happening now, so the reply leads with the emergency number), or the
     emergency reply when what is happening now is a medical emergency (at least
     `emergency_share` of the worry, or the emergency head at least
     `someone_elses_emergency_threshold`: a friend bleeding, unconscious, or who
     has just taken pills);
   - a general question about suicide or self-harm: `crisis_info`;
   - risk >= `check_threshold` but below the crisis threshold: `crisis_check`,
     a warm reply that asks directly (doubt costs a question, not a miss);
   - a warning sign without words of death or harm (hopeless about everything,
     trapped, pain past bearing) counts toward the check-in, never toward the
     full crisis reply: `crisis_check` with the family `warning_sign`.
   When the stage finds no risk, a safety intent from the classifier is dropped
   in favour of its next intent: the classifier alone never raises an alarm.

The message's language (py3langid) is set as the `reply_language` entity, so a
Spanish crisis message gets the Spanish crisis reply (threshold/nlg.py).
"""

import hashlib
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
from rasa.engine.graph import GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components import language_guard, languages, risk_model
from components.language_guard import written_in_another_language
from components.languages import message_language
from components.risk_model import EMERGENCY, INFO, LABELS, NONE, SELF_RISK, THIRD_PARTY, WARNING
from components.time_frames import DEFAULT_PATH as DEFAULT_TIME_FRAMES
from components.time_frames import TimeFrames, load_time_frames

logger = logging.getLogger(__name__)

RISK_STAGE_KEY = "risk_stage"
FAMILY_ENTITY = "crisis_family"
LANGUAGE_ENTITY = "reply_language"
# The family of someone else's body in danger now: the emergency reply has its own variant
# for it (data/responses/safety.yml).
SOMEONE_ELSES_EMERGENCY = "someone_elses_emergency"
SAFETY_INTENTS = ("crisis", "medical_emergency", "crisis_third_party", "crisis_info", "crisis_check")
# Rasa NLU examples of the other intents are harmless and join the corpus as `none`; not
# these: an answer to "are you safe?" such as "no, I'm not safe" is not harmless, and
# asking to hide or delete a chat ("my parents check my phone, wipe this") is how someone
# watched by an abuser may write: the risk model must not learn that it is always harmless.
HARMLESS_NLU_EXCLUDED = SAFETY_INTENTS + (
    "not_safe",
    "other_language",
    "nlu_fallback",
    "delete_conversation",
    "chat_privacy",
)


@dataclass
class TrainingSet:
    """What the risk models learn from, one entry a text: the risk corpus, then every NLU
    example of a harmless intent as `none`."""

    texts: List[Text]
    labels: List[Text]
    # A body in danger now (the emergency head's answer).
    emergencies: List[bool]
    # Teaches the emergency head alone.
    head_only: List[bool]
    # The text's language: the corpus says it; an NLU example is English unless
    # language_guard.written_in_another_language finds another.
    languages: List[Text]


def training_set(examples: List[risk_model.Example], training_data: TrainingData) -> TrainingSet:
    """The risk corpus, plus every NLU example of a harmless intent as `none`."""
    found = TrainingSet(
        [e.text for e in examples],
        [e.label for e in examples],
        [e.emergency for e in examples],
        [e.head_only for e in examples],
        [e.lang for e in examples],
    )
    known = {risk_model.normalise(t) for t in found.texts}
    for example in training_data.intent_examples:
        text = example.get(TEXT) or ""
        if example.get(INTENT) not in HARMLESS_NLU_EXCLUDED and risk_model.normalise(text) not in known:
            found.texts.append(text)
            found.labels.append(NONE)
            found.emergencies.append(False)
            found.head_only.append(False)
            found.languages.append(written_in_another_language(text) or "en")
            known.add(risk_model.normalise(text))
    return found


def fit_model(training: TrainingSet, embeddings: np.ndarray, config: Dict[Text, Any]) -> risk_model.RiskModel:
    """The risk models as the stage trains them (config: the RiskStage's), for the stage and the
    evaluation scripts alike."""
    weights = None
    if config["balance_languages"]:
        weights = risk_model.language_balance(
            training.languages, training.labels, counted=[not h for h in training.head_only]
        )
    return risk_model.fit(
        training.texts,
        training.labels,
        embeddings,
        emergencies=training.emergencies,
        head_only=training.head_only,
        weights=weights,
        seed=int(config["random_seed"]),
    )


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class RiskStage(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "corpus": "risk_corpus",
            "embedding_cache": ".cache/embeddings",
            "embedding_threads": 1,
            # A piece the quick model gives at most this risk is not embedded.
            "quick_clear_below": 0.1,
            # At most this many pieces of one message go to the embedding model.
            "max_embedded_pieces": 4,
            "crisis_threshold": 0.5,
            "check_threshold": 0.3,
            "third_party_threshold": 0.5,
            "info_threshold": 0.5,
            # A physical emergency needs the emergency number first, even when the words also
            # speak of suicide ("I swallowed the whole pack, now I'm scared"): the emergency
            # reply when a medical emergency is at least this share of the piece's risk.
            "emergency_share": 0.4,
            # Worry about someone else now becomes the emergency reply when the emergency head
            # scores a body in danger at least this (risk_model.py; its classes are balanced,
            # so the score leans toward the emergency reply).
            "someone_elses_emergency_threshold": 0.5,
            # How much a sentence's risk is pulled toward the whole message's (in_context).
            "context_weight": 0.3,
            # When a sentence tells of the past ("I attempted when I was 19"): it is read as part
            # of its message (assess_in_context).
            "time_frames": "content/time_frames.yml",
            # Weigh each language's harmless texts so that no language reads as risk by itself
            # (risk_model.language_balance).
            "balance_languages": False,
            "random_seed": 2025,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[risk_model.RiskModel] = None,
    ) -> None:
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        self.model = model
        self._embedder: Optional[risk_model.Embedder] = None
        self._time_frames: Optional[TimeFrames] = None

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        """The corpus files and the model's code, so that `rasa train` trains the risk model
        again when either changes (Rasa sees only the NLU data and this config)."""
        digest = hashlib.sha256(Path(risk_model.__file__).read_bytes())
        # The training weights depend on how languages are told apart, too.
        for module in (__file__, language_guard.__file__, languages.__file__):
            digest.update(Path(module).read_bytes())
        for path in sorted(Path(config.get("corpus") or "risk_corpus").glob("*.yml")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    @classmethod
    def create(cls, config, model_storage, resource, execution_context) -> "RiskStage":
        # YAML reads "no" or "off" as text, which Python would take as true.
        if not isinstance(config.get("balance_languages"), bool):
            raise ValueError(
                f"config.yml, RiskStage: 'balance_languages' must be true or false, "
                f"got {config.get('balance_languages')!r}"
            )
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config, model_storage, resource, execution_context, **kwargs) -> "RiskStage":
        with model_storage.read_from(resource) as directory:
            with open(directory / "risk_model.pkl", "rb") as handle:
                model = pickle.load(handle)
        stage = cls(config, model_storage, resource, model)
        # A broken time frames file stops the server here, with a message naming the field.
        stage.time_frames()
        # Load the embedding and language models now, not at the first message.
        stage.embedder().embed(["warm up"])
        message_language("warming up the language model")
        return stage

    def embedder(self) -> risk_model.Embedder:
        if self._embedder is None:
            self._embedder = risk_model.shared_embedder(threads=int(self.config["embedding_threads"]))
        return self._embedder

    def time_frames(self) -> TimeFrames:
        if self._time_frames is None:
            self._time_frames = load_time_frames(self.config.get("time_frames") or DEFAULT_TIME_FRAMES)
        return self._time_frames

    def told_as_past(self, text: Text, pieces: List[Text], language: Optional[Text] = None) -> np.ndarray:
        """For each piece, whether it lies in sentences that all tell of the past, in an English
        message of more than one sentence that the whole-message piece reads in full. The whole
        message (the first piece) never does; in doubt a piece is read as it stands."""
        flags = np.zeros(len(pieces), dtype=bool)
        sentences = risk_model.split_sentences(text)
        if language not in (None, "en") or len(sentences) < 2 or len(text) > risk_model.MAX_UNIT_CHARS:
            return flags
        past = self.time_frames().flags(sentences)
        for i, piece in enumerate(pieces[1:], start=1):
            holders = [k for k, sentence in enumerate(sentences) if piece == sentence or piece in sentence]
            flags[i] = bool(holders) and all(past[k] for k in holders)
        return flags

    # Training ------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        training = training_set(risk_model.load_corpus(Path(self.config["corpus"])), training_data)
        cache = Path(self.config["embedding_cache"]) if self.config.get("embedding_cache") else None
        embeddings = risk_model.Embedder(threads=2, cache_dir=cache).embed(training.texts)
        self.model = fit_model(training, embeddings, self.config)
        with self.model_storage.write_to(self.resource) as directory:
            with open(directory / "risk_model.pkl", "wb") as handle:
                pickle.dump(self.model, handle)
        logger.info("Risk model trained on %d pieces of text", len(training.texts))
        return self.resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    # Prediction ----------------------------------------------------------------

    def assess(self, text: Text) -> Dict[Text, Any]:
        """Scores of every piece of the message, and the piece with most risk."""
        pieces = risk_model.pieces(text)
        language = message_language(text)
        probabilities = self.model.quick_probabilities(pieces)
        concern = risk_model.concern_of(probabilities)
        not_harmless = probabilities[:, LABELS.index(NONE)] < 1 - self.config["quick_clear_below"]
        candidates = [i for i in range(len(pieces)) if language not in (None, "en") or not_harmless[i]]
        # The whole message first, then the pieces the quick model finds most risky: a long
        # message costs a few embeddings, not one per sentence. The others keep their quick scores.
        candidates.sort(key=lambda i: (i != 0, -concern[i]))
        to_embed = sorted(candidates[: int(self.config["max_embedded_pieces"])])
        # A body in danger now (the emergency head), for the pieces the full model reads; the
        # others are the ones the quick model is sure are harmless, or beyond the first few.
        body_in_danger = np.zeros(len(pieces))
        if to_embed:
            embeddings = self.embedder().embed([pieces[i] for i in to_embed])
            probabilities[to_embed], body_in_danger[to_embed] = self.model.full_and_emergency(
                [pieces[i] for i in to_embed], embeddings
            )
        return {
            "pieces": pieces,
            "probabilities": probabilities,
            "body_in_danger": body_in_danger,
            "risk": risk_model.risk_of(probabilities),
            "concern": risk_model.concern_of(probabilities),
            "embedded": len(to_embed),
            "language": language,
        }

    def in_context(self, risk: np.ndarray, keep_own_check_in: Any = True) -> np.ndarray:
        """Each sentence's risk, pulled toward the whole message's (the first piece).

        A sentence read alone loses its context: "Would rather die than sit in a waiting
        room. Do you do Zoom?" is harmless as a whole, not as its first sentence. The
        sentence still counts: context can lower a sentence from the crisis reply to the
        check-in question, never below it. A sentence that would get the check-in on its
        own keeps it inside a calm paragraph ("Therapy is going well. Yesterday I thought
        about jumping off the car park. Is that expected?"). `keep_own_check_in` (one flag, or one per
        piece) off lets context take a sentence below its own check-in too: how a warning sign
        is read (assess_in_context)."""
        weight = float(self.config["context_weight"])
        if len(risk) < 2 or not weight:
            return risk
        adjusted = risk.copy()
        adjusted[1:] = (1 - weight) * risk[1:] + weight * max(risk[0], 0.0)
        own_check_in = np.minimum(risk[1:], float(self.config["check_threshold"]))
        keep = np.broadcast_to(keep_own_check_in, risk.shape)[1:]
        adjusted[1:] = np.where(keep, np.maximum(adjusted[1:], own_check_in), adjusted[1:])
        return adjusted

    def decide(self, assessment: Dict[Text, Any]) -> Tuple[Optional[Text], Optional[Text], float]:
        """(intent, crisis_family, score) for a message, or (None, None, risk) when no risk."""
        probabilities = assessment["probabilities"]
        risk = assessment["risk"]
        worst = int(np.argmax(risk))
        row = probabilities[worst]
        label, _ = risk_model.top_label(row)
        best_self = max(SELF_RISK, key=lambda name: row[LABELS.index(name)])
        # The emergency may be told in another sentence than the worst one ("fell down the
        # stairs, my leg is bent the wrong way. I'm home alone and can't get up").
        emergency = float(probabilities[:, LABELS.index(EMERGENCY[0])].max())
        emergency_first = label in EMERGENCY or emergency >= self.config["emergency_share"] * risk[worst]
        if risk[worst] >= self.config["crisis_threshold"]:
            if emergency_first:
                return "medical_emergency", "medical_emergency", float(risk[worst])
            return "crisis", best_self, float(risk[worst])
        # Risk to the writer plus a warning sign (risk_model.concern_of), in context when
        # process() has set it.
        concern = assessment["concern"] if "concern" in assessment else risk_model.concern_of(probabilities)
        own = max(float(risk[worst]), float(concern.max()))
        third = probabilities[:, [LABELS.index(name) for name in THIRD_PARTY]]
        # Worry about someone else, unless the writer's own risk or warning sign is the likelier
        # reading (then the check-in asks the writer directly); someone in danger now always gets
        # the reply that leads with the emergency number.
        piece = int(np.argmax(third.sum(axis=1)))
        now = third[piece, 1] > third[piece, 0]
        if third[piece].sum() >= max(self.config["third_party_threshold"], 0.0 if now else own):
            # Someone else's body in danger now (bleeding, unconscious, seizing, pills just
            # taken): the emergency reply, with what to do when they are elsewhere. The emergency
            # head reads it where the full model reads only worry about someone else ("my mum
            # called. She's taken all her pills."): in any piece, as the danger may be told in
            # another sentence than the worry.
            body = float(assessment["body_in_danger"].max()) if "body_in_danger" in assessment else 0.0
            if now and (
                body >= self.config["someone_elses_emergency_threshold"]
                or emergency >= self.config["emergency_share"] * float(third[piece].sum())
            ):
                return "medical_emergency", SOMEONE_ELSES_EMERGENCY, float(third[piece].sum())
            return (
                "crisis_third_party",
                "third_party_now" if now else "third_party",
                float(third[piece].sum()),
            )
        if risk[worst] >= self.config["check_threshold"]:
            if label in EMERGENCY:
                # Asking "are you having thoughts of suicide?" is no answer to a body in danger.
                return "medical_emergency", "medical_emergency", float(risk[worst])
            return "crisis_check", best_self, float(risk[worst])
        if float(concern.max()) >= self.config["check_threshold"]:
            return "crisis_check", WARNING[0], float(concern.max())
        info = probabilities[:, LABELS.index(INFO[0])]
        if info.max() >= self.config["info_threshold"]:
            return "crisis_info", None, float(info.max())
        return None, None, float(risk[worst])

    def assess_in_context(self, text: Text) -> Dict[Text, Any]:
        """assess(), with each sentence's risk and concern read in the context of its message:
        what process() decides on (the evaluation scripts call this too)."""
        assessment = self.assess(text)
        risk, concern = assessment["risk"], assessment["concern"]
        # A sentence that tells of the past ("I attempted when I was 19", "back in 2015 I
        # overdosed") is read as part of its message ("I'm 31 now and doing well"): it keeps no
        # check-in of its own, and its risk is at most the whole message's (content/time_frames.yml).
        past = self.told_as_past(text, assessment["pieces"], assessment.get("language"))
        in_context_risk = self.in_context(risk, keep_own_check_in=~past).copy()
        # A sentence whose concern is more warning sign than risk ("I feel empty", "everything is
        # a chore") is read in its message's context only: inside a calm message it asks nothing
        # (distress without risk gets the distress reply). A sentence that is more risk than
        # warning sign keeps the check-in it gets on its own, as a risk sentence does.
        more_risk_than_warning_sign = risk >= concern - risk
        in_context_concern = np.maximum(
            self.in_context(concern, keep_own_check_in=more_risk_than_warning_sign & ~past), in_context_risk
        )
        in_context_risk[past] = np.minimum(in_context_risk[past], risk[0])
        if "body_in_danger" in assessment:
            body = assessment["body_in_danger"]
            assessment["body_in_danger"] = np.where(past, np.minimum(body, body[0]), body)
        in_context_concern[past] = np.minimum(in_context_concern[past], max(concern[0], risk[0]))
        assessment["risk"], assessment["concern"] = in_context_risk, in_context_concern
        assessment["told_as_past"] = past
        return assessment

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text or text.startswith("/"):
                continue
            assessment = self.assess_in_context(text)
            intent, family, score = self.decide(assessment)
            self._apply(message, intent, family, score, assessment)
        return messages

    @staticmethod
    def _apply(
        message: Message,
        intent: Optional[Text],
        family: Optional[Text],
        score: float,
        assessment: Dict[Text, Any],
    ) -> None:
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or []]
        entities = [
            e for e in message.get(ENTITIES) or [] if e.get("entity") not in (FAMILY_ENTITY, LANGUAGE_ENTITY)
        ]
        language = assessment["language"]
        if language:
            entities.append(
                {
                    "entity": LANGUAGE_ENTITY,
                    "value": language,
                    "extractor": "RiskStage",
                    "start": 0,
                    "end": 0,
                    "confidence": 1.0,
                }
            )
        classifier_intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if intent is not None:
            ranking = [{INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}] + [
                r for r in ranking if r.get(INTENT_NAME_KEY) != intent
            ]
            message.set(INTENT, {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}, add_to_output=True)
            if family:
                entities.append(
                    {
                        "entity": FAMILY_ENTITY,
                        "value": family,
                        "extractor": "RiskStage",
                        "start": 0,
                        "end": 0,
                        "confidence": 1.0,
                    }
                )
        elif classifier_intent in SAFETY_INTENTS:
            # The classifier's guess of a safety intent is not confirmed by the risk stage.
            ranking = [r for r in ranking if r.get(INTENT_NAME_KEY) not in SAFETY_INTENTS]
            fallback = (
                ranking[0] if ranking else {INTENT_NAME_KEY: "nlu_fallback", PREDICTED_CONFIDENCE_KEY: 1.0}
            )
            message.set(INTENT, dict(fallback), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        message.set(ENTITIES, entities, add_to_output=True)
        worst = int(np.argmax(assessment["risk"]))
        message.set(
            RISK_STAGE_KEY,
            {
                "intent": intent,
                "family": family,
                "score": round(score, 4),
                "risk": round(float(assessment["risk"][worst]), 4),
                "pieces": len(assessment["pieces"]),
                "embedded": assessment["embedded"],
                "language": language,
                "classifier_intent": classifier_intent,
            },
            add_to_output=True,
        )
