"""No test message is training data: compared after normalising, and as near-duplicates.

Training data here is everything a model or a pattern learns from: the NLU examples
(data/nlu/), the risk corpus (risk_corpus/) and the examples in the safety patterns
file. Test messages are the frozen sets (tests/data/frozen/) and the development sets
(tests/data/dev/). Near-duplicates are pairs whose character n-gram TF-IDF vectors
have a cosine similarity of at least NEAR_DUPLICATE, which flags a changed word or
two, reordered clauses and punctuation or case changes.
"""

import re
import unicodedata
from collections import Counter

import yaml
from conftest import ARTICLE_TOPICS, PROJECT_ROOT
from sklearn.feature_extraction.text import TfidfVectorizer
from test_content import strings_in

NEAR_DUPLICATE = 0.9
# Short everyday messages ("bye", "I was raped") are written the same way by anyone;
# from this many words on (after normalising), a test message must not appear in the
# training data. Shorter collisions are counted in docs/measurements.md.
MIN_WORDS = 8
_NOT_WORD = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", text)).strip()


def test_messages():
    found = {}
    for path in sorted((PROJECT_ROOT / "tests" / "data").rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = data["messages"] if isinstance(data, dict) and "messages" in data else data
        for item in items if isinstance(items, list) else [items]:
            texts = [item["text"]] if isinstance(item, dict) and "text" in item else list(strings_in(item))
            for text in texts:
                found[text] = path.relative_to(PROJECT_ROOT)
    return found


def training_texts():
    from rasa.shared.nlu.training_data.loading import load_data

    texts = [m.get("text") for m in load_data(str(PROJECT_ROOT / "data" / "nlu")).intent_examples]
    for path in sorted((PROJECT_ROOT / "risk_corpus").glob("*.yml")):
        texts += [item["text"] for item in yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]]
    patterns = yaml.safe_load((PROJECT_ROOT / "content" / "safety_patterns.yml").read_text(encoding="utf-8"))
    for family in patterns["families"].values():
        texts += list(strings_in(family.get("examples") or []))
    texts += list(strings_in(patterns.get("idioms") or []))
    return texts


def near_duplicates(tests, training, threshold=NEAR_DUPLICATE):
    vectoriser = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    vectoriser.fit([normalised(t) for t in tests + training])
    similarity = (
        vectoriser.transform([normalised(t) for t in tests])
        @ vectoriser.transform([normalised(t) for t in training]).T
    )
    similarity = similarity.tocoo()
    return sorted(
        {
            (tests[i], training[j])
            for i, j, v in zip(similarity.row, similarity.col, similarity.data)
            if v >= threshold
        }
    )


def test_the_leak_check_catches_a_reworded_copy():
    pairs = near_duplicates(
        ["I really want to END it all tonight!!"], ["i really want to end it all tonight"]
    )
    assert pairs
    assert not near_duplicates(["how long is a session?"], ["i want to end it all tonight"])


def leaks():
    tests = {
        text: where for text, where in test_messages().items() if len(normalised(text).split()) >= MIN_WORDS
    }
    training = training_texts()
    exact = {normalised(t) for t in training}
    found = {(str(where), text) for text, where in tests.items() if normalised(text) in exact}
    found |= {(str(tests[test]), test) for test, _ in near_duplicates(list(tests), training)}
    return sorted(found)


def test_no_frozen_test_message_is_training_data_or_a_near_copy_of_it():
    from conftest import MEASUREMENTS

    found = leaks()
    dev = [item for item in found if "/dev/" in item[0]]
    MEASUREMENTS["development messages with a near-copy in training data or patterns"] = f"{len(dev)}: {dev}"
    assert [item for item in found if "/frozen/" in item[0]] == []


def _frozen(pattern):
    paths = sorted((PROJECT_ROOT / "tests" / "data" / "frozen").glob(pattern))
    assert paths, pattern
    return {path.name: yaml.safe_load(path.read_text(encoding="utf-8"))["messages"] for path in paths}


def test_every_frozen_risk_set_is_big_enough():
    for name, messages in _frozen("risk_test*.yml").items():
        risky = [m for m in messages if m["expect"] != "harmless"]
        # At least 100 harmless look-alikes each (the second set has 130; the others 200 or more).
        assert len(messages) >= 300 and len(risky) >= 150 and len(messages) - len(risky) >= 100, name


def test_every_frozen_nlu_set_covers_every_intent_enough():
    for name, messages in _frozen("nlu_test*.yml").items():
        per_intent = Counter(m["intent"] for m in messages)
        topics = [i for i in per_intent if i in ARTICLE_TOPICS]
        assert len(topics) == len(ARTICLE_TOPICS) and min(per_intent[t] for t in topics) >= 15, name
        assert min(n for i, n in per_intent.items() if i not in ARTICLE_TOPICS) >= 8, name
