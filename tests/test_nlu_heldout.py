"""Intent accuracy on the development files tests/data/dev/nlu_messages.yml and nlu_messages_2.yml
(not training data, but looked at while shaping it and choosing the classifier)."""

from collections import Counter

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


SECOND = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "dev" / "nlu_messages_2.yml").read_text())[
    "messages"
]
# The intent classifier is a logistic regression: the same data gives the same model, whatever
# the seed, so there is no spread over seeds to take; these limits sit about seven messages
# below what the model gave (docs/measurements.md), so that a small change of data does not
# turn them red but a loss of understanding does. Strict figures count a clarifying question
# as wrong; the check-in question on harmless messages (risk stage) costs topics most.
MIN_TOPIC_ACCURACY_2 = 0.82
MIN_OTHER_ACCURACY_2 = 0.93
MIN_RIGHT_OR_OFFERED_2 = 0.90


def test_intent_accuracy_on_the_second_development_set(conversation):
    from actions.clarify_options import FALLBACK_INTENT, load_clarify_options

    options = load_clarify_options()
    right, offered, total, misses = Counter(), Counter(), Counter(), []
    for message in SECOND:
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
    MEASUREMENTS["second development NLU set (strict)"] = (
        f"topics {right['topics']}/{total['topics']}, others {right['others']}/{total['others']}, "
        f"right or offered {sum(offered.values())}/{sum(total.values())}"
    )
    assert share["topics"] >= MIN_TOPIC_ACCURACY_2, misses
    assert share["others"] >= MIN_OTHER_ACCURACY_2, misses
    assert right_or_offered >= MIN_RIGHT_OR_OFFERED_2, misses
