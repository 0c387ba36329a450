"""The content contract: every topic has an answer in our own words, a source,
a next step and enough training examples; every reply placeholder is known."""
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from conftest import ARTICLE_TOPICS, PROJECT_ROOT
from threshold.clinic_profile import load_clinic_profile

ARTICLE_PATH = PROJECT_ROOT.parent / "shared" / "seeds" / "000_e63d249fb5bd91eb.txt"
RESPONSES = {}
for path in sorted((PROJECT_ROOT / "data" / "responses").glob("*.yml")):
    RESPONSES.update(yaml.safe_load(path.read_text())["responses"])
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
SOURCE_PARTS = [
    "Peggy A. Rothbaum, PhD",
    "Why real growth in psychotherapy takes time, courage, and teamwork",
    "KevinMD",
    "June 8, 2025",
    "section on",
]


def nlu_examples():
    counts = Counter()
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            counts[block["intent"]] += sum(1 for line in block["examples"].splitlines() if line.strip())
    return counts


def answer_body(topic):
    text = RESPONSES[f"utter_answer_{topic}"][0]["text"]
    return text.split("\n\nSource:")[0]


def words(text):
    return re.findall(r"[A-Za-z']+", text)


def syllables(word):
    word = word.lower().strip("'")
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups) - (1 if word.endswith("e") and len(groups) > 1 and not word.endswith("le") else 0)
    return max(1, count)


def flesch_kincaid_grade(text):
    sentences = max(1, len(re.findall(r"[.!?]+[\"')]*(?:\s|$)", text)))
    tokens = words(text)
    return 0.39 * len(tokens) / sentences + 11.8 * sum(map(syllables, tokens)) / len(tokens) - 15.59


def test_every_topic_is_an_intent_with_at_least_30_examples():
    counts = nlu_examples()
    for topic in ARTICLE_TOPICS:
        assert topic in DOMAIN["intents"]
        assert counts[topic] >= 30, topic


def test_required_conversation_intents_exist_with_examples():
    counts = nlu_examples()
    for intent in ["greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge", "help", "out_of_scope"]:
        assert counts[intent] >= 15, intent


def test_chat_style_examples_are_present():
    examples = set()
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            examples.update(line[2:].strip() for line in block["examples"].splitlines() if line.strip())
    assert "why does therapy take time" in examples
    assert "i feel stuck" in examples


@pytest.mark.parametrize("topic", ARTICLE_TOPICS)
def test_answer_length_source_and_next_step(topic):
    response = RESPONSES[f"utter_answer_{topic}"][0]
    count = len(words(answer_body(topic)))
    assert 60 <= count <= 140, (topic, count)
    for part in SOURCE_PARTS:
        assert part in response["text"], (topic, part)
    assert len(response["buttons"]) >= 2


@pytest.mark.parametrize("topic", ARTICLE_TOPICS)
def test_answer_reads_at_about_a_6th_to_8th_grade_level(topic):
    grade = flesch_kincaid_grade(answer_body(topic))
    assert grade <= 9.0, (topic, round(grade, 1))


def test_answers_never_copy_the_article():
    """No run of eight words of any answer appears in the article."""
    if not ARTICLE_PATH.exists():
        pytest.skip("the article is not beside the project")
    article = " ".join(w.lower() for w in words(ARTICLE_PATH.read_text(encoding="utf-8")))
    for topic in ARTICLE_TOPICS:
        tokens = [w.lower() for w in words(answer_body(topic))]
        copied = [
            " ".join(tokens[i:i + 8]) for i in range(len(tokens) - 7)
            if " ".join(tokens[i:i + 8]) in article
        ]
        assert copied == [], (topic, copied)


def strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def test_every_placeholder_in_a_reply_comes_from_the_clinic_profile():
    known = set(load_clinic_profile().template_values())
    for name, variations in RESPONSES.items():
        for text in strings_in(variations):
            for placeholder in re.findall(r"{([^{}\n]+)}", text):
                assert placeholder in known, (name, placeholder)


def test_the_therapist_pointer_is_worded_in_several_ways_with_the_clinic_contact():
    booking = [
        v for v in RESPONSES["utter_therapist_pointer"]
        if {"name": "clinic_has_booking_url", "type": "slot", "value": True} in v.get("condition", [])
    ]
    assert len({v["text"] for v in booking}) >= 3
    assert all("{booking_url}" in v["text"] for v in booking)


def test_every_utter_action_in_the_rules_has_a_response():
    for path in (PROJECT_ROOT / "data" / "rules").glob("*.yml"):
        for rule in yaml.safe_load(path.read_text())["rules"]:
            for step in rule["steps"]:
                action = step.get("action", "")
                if action.startswith("utter_"):
                    assert action in RESPONSES, (path.name, action)


def test_safety_replies_never_use_harmful_wording():
    text = " ".join(str(RESPONSES[name]) for name in RESPONSES).lower()
    for phrase in ["committed suicide", "successful suicide", "i can't help you", "lethal dose"]:
        assert phrase not in text
