"""Intent accuracy on the development file tests/data/dev/nlu_messages.yml (not training data, but looked at while shaping it)."""
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
            examples.update(line[2:].strip().lower() for line in block["examples"].splitlines() if line.strip())
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
