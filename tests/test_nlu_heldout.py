"""Intent accuracy on the development files tests/data/dev/nlu_messages*.yml
(not training data, but looked at while shaping it and choosing the classifier)."""

from collections import Counter

import pytest
import yaml
from conftest import ARTICLE_TOPICS, MEASUREMENTS, PROJECT_ROOT

HELDOUT = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "dev" / "nlu_messages.yml").read_text())
# Retrains of identical settings have given 0.897 to 0.949 on this file (docs/measurements.md):
# the limit sits below that spread, so a retrain alone does not turn it red.
MIN_ACCURACY = 0.87


def training_examples():
    examples = set()
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            examples.update(
                line[2:].strip().lower() for line in block["examples"].splitlines() if line.strip()
            )
    return examples


def test_heldout_file_has_at_least_five_per_topic():
    for topic in ARTICLE_TOPICS:
        assert len(HELDOUT.get(topic, [])) >= 5, topic


def test_heldout_messages_are_not_training_data():
    seen = training_examples()
    leaked = [m for messages in HELDOUT.values() for m in messages if m.lower() in seen]
    assert leaked == []


def test_intent_accuracy_on_heldout_messages(conversation):
    misses = []
    per_intent = Counter()
    total = 0
    for intent, messages in HELDOUT.items():
        for message in messages:
            total += 1
            predicted = conversation.parse(message)["intent"]["name"]
            if predicted == intent:
                per_intent[intent] += 1
            else:
                misses.append((message, intent, predicted))
    accuracy = (total - len(misses)) / total
    MEASUREMENTS["held-out intent accuracy"] = f"{accuracy:.3f} ({total - len(misses)}/{total})"
    assert accuracy >= MIN_ACCURACY, misses


def _development_set(name):
    return yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "dev" / name).read_text())["messages"]


# The intent classifier is a logistic regression: the same data gives the same model, whatever
# the seed, so there is no spread over seeds to take; these limits sit several messages below
# what the model gave (docs/measurements.md), so that a small change of data does not turn
# them red but a loss of understanding does. Strict figures count a clarifying question as
# wrong; the check-in question on harmless messages (risk stage) costs topics most.
# (file, topics strict, other intents strict, right or offered)
# Measured: nlu_messages_2 102/118, 182/186, 290/304; nlu_messages_3 85/108, 144/153, 236/261.
DEVELOPMENT_LIMITS = [
    ("nlu_messages_2.yml", 0.80, 0.94, 0.93),
    ("nlu_messages_3.yml", 0.72, 0.89, 0.87),
]


def test_the_development_sets_are_not_training_data():
    """Half of each set became training data: none of the half kept here is also there. (Short
    everyday messages are written the same way by anyone and may be in both: from eight words
    on, as in tests/test_leaks.py.)"""
    seen = training_examples()
    for name, *_ in DEVELOPMENT_LIMITS:
        texts = [m["text"] for m in _development_set(name) if len(m["text"].split()) >= 8]
        leaked = [text for text in texts if text.strip().lower() in seen]
        assert texts and leaked == [], name


@pytest.mark.parametrize("name,min_topics,min_others,min_right_or_offered", DEVELOPMENT_LIMITS)
def test_intent_accuracy_on_a_development_set(
    conversation, name, min_topics, min_others, min_right_or_offered
):
    from threshold.clarify_options import FALLBACK_INTENT, load_clarify_options

    options = load_clarify_options()
    right, offered, total, misses = Counter(), Counter(), Counter(), []
    for message in _development_set(name):
        parse = conversation.parse(message["text"])
        group = "topics" if message["intent"] in ARTICLE_TOPICS else "others"
        got = parse["intent"]["name"]
        total[group] += 1
        right[group] += got == message["intent"]
        asked = got == FALLBACK_INTENT and message["intent"] in options.likely_intents(
            parse["intent_ranking"]
        )
        offered[group] += got == message["intent"] or asked
        if got != message["intent"]:
            misses.append((message["text"], message["intent"], got))
    share = {group: right[group] / total[group] for group in total}
    right_or_offered = sum(offered.values()) / sum(total.values())
    MEASUREMENTS[f"development NLU set {name} (strict)"] = (
        f"topics {right['topics']}/{total['topics']}, others {right['others']}/{total['others']}, "
        f"right or offered {sum(offered.values())}/{sum(total.values())}"
    )
    assert share["topics"] >= min_topics, misses
    assert share["others"] >= min_others, misses
    assert right_or_offered >= min_right_or_offered, misses


# Messages in thirteen other languages (development set): the share answered with the intent
# they were written for, and the share the classifier answered with another intent (not the
# polite other-language note, not a safety reply: the risk stage's). The classifier is
# deterministic; the limits sit several messages below what it gave (docs/measurements.md):
# 129/200 right, 6/200 answered as another intent.
OTHER_LANGUAGES = "nlu_messages_other_languages.yml"
MIN_RIGHT_IN_OTHER_LANGUAGES = 0.58
# A message the classifier is unsure of gets the clarifying question with its guesses
# (components/language_guard.py, clarify_above): 164/200 right or offered when it came in
# (137 right), against 137/200 before; the limit sits as far under as the strict one does.
MIN_RIGHT_OR_OFFERED_IN_OTHER_LANGUAGES = 0.72
MAX_ANSWERED_WRONG_IN_OTHER_LANGUAGES = 0.06


def test_messages_in_other_languages_get_the_answer_they_asked_for(conversation):
    from components.risk_stage import SAFETY_INTENTS
    from threshold.clarify_options import FALLBACK_INTENT, load_clarify_options

    options = load_clarify_options()
    messages = _development_set(OTHER_LANGUAGES)
    right, offered, wrong = [], [], []
    for message in messages:
        parse = conversation.parse(message["text"])
        got = parse["intent"]["name"]
        if got == message["intent"]:
            right.append(message["text"])
        elif got == FALLBACK_INTENT and message["intent"] in options.likely_intents(parse["intent_ranking"]):
            offered.append(message["text"])
        elif got not in ("other_language", FALLBACK_INTENT, *SAFETY_INTENTS):
            wrong.append((message["text"], message["intent"], got))
    MEASUREMENTS[f"development NLU set {OTHER_LANGUAGES}"] = (
        f"right {len(right)}/{len(messages)}, right or offered in a clarifying question "
        f"{len(right) + len(offered)}/{len(messages)}, "
        f"answered as another intent {len(wrong)}/{len(messages)}"
    )
    assert len(right) / len(messages) >= MIN_RIGHT_IN_OTHER_LANGUAGES
    assert (len(right) + len(offered)) / len(messages) >= MIN_RIGHT_OR_OFFERED_IN_OTHER_LANGUAGES
    assert len(wrong) / len(messages) <= MAX_ANSWERED_WRONG_IN_OTHER_LANGUAGES, wrong
