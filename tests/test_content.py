"""The content contract: every topic has an answer in our own words, a source,
a next step and enough training examples; every reply placeholder is known."""

import re
from collections import Counter

import pytest
import yaml
from conftest import ARTICLE_TOPICS, PROJECT_ROOT
from scripts_path import load_script

from actions.library import library_path
from threshold.clinic_profile import load_clinic_profile

article_hashes = load_script("article_hashes")

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
    assert len(ARTICLE_TOPICS) == 10  # the article's ten ideas, read from data/responses/article.yml
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


# The article's eight-word runs, hashed (scripts/article_hashes.py): the article itself
# is not in the project, so the copy check runs in every clone against these hashes.
ARTICLE_RUN_HASHES = article_hashes.read_hash_file()
ARTICLE_ABSENT = "the article is not beside the project: the committed hashes cannot be compared with it"
# Files of text the assistant shows or says (safety_patterns.yml and time_frames.yml only read
# messages), with the exercises file THRESHOLD_EXERCISES names when it is not content/exercises.yml.
SHOWN_CONTENT = sorted(
    set((PROJECT_ROOT / "content").glob("*.yml"))
    - {PROJECT_ROOT / "content" / "safety_patterns.yml", PROJECT_ROOT / "content" / "time_frames.yml"}
    | {library_path()}
)


def shown_texts():
    """(where, text) of every reply and every shown content string, source lines removed:
    the source line names the article's title, on purpose."""
    for name, variations in RESPONSES.items():
        for text in strings_in(variations):
            yield name, text.split("Source:")[0]
    for path in SHOWN_CONTENT:
        for text in strings_in(yaml.safe_load(path.read_text())):
            yield path.name, text


def test_no_reply_or_content_copies_eight_words_of_the_article():
    """No run of eight words of any reply (the ten answers included) or of the exercises,
    widget words and server replies in content/ is one of the article's."""
    copied = [
        (where, run)
        for where, text in shown_texts()
        for run in article_hashes.copied_runs(ARTICLE_RUN_HASHES, [text])
    ]
    assert copied == []


def test_the_copy_check_catches_a_copied_sentence_and_passes_a_paraphrase():
    source = (
        "Growth is slow work. Most people who start therapy hope to feel better within a few "
        "weeks, but lasting change usually asks for months of steady effort and honest talk."
    )
    hashes = article_hashes.hash_set(source)
    copied = "As one writer put it, lasting change usually asks for months of steady effort, really."
    # Case, punctuation and spacing do not hide a copy.
    disguised = "LASTING change -- usually asks for months of steady,   effort AND honest talk!"
    paraphrase = "Real change tends to take months of regular work and open conversation."
    assert article_hashes.copied_runs(hashes, [copied]) == [
        "lasting change usually asks for months of steady",
        "change usually asks for months of steady effort",
    ]
    assert len(article_hashes.copied_runs(hashes, [disguised])) == 5
    assert article_hashes.copied_runs(hashes, [paraphrase]) == []
    # Seven words in a row are not a copy.
    assert article_hashes.copied_runs(hashes, ["lasting change usually asks for months of work"]) == []


def test_the_committed_article_hashes_catch_the_articles_own_title():
    """The committed file holds the article's runs: its title, which the source lines cite,
    is caught when it is not removed as a source line."""
    assert len(ARTICLE_RUN_HASHES) > 1000
    assert all(re.fullmatch(r"[0-9a-f]{16}", value) for value in ARTICLE_RUN_HASHES)
    title = "Why real growth in psychotherapy takes time, courage, and teamwork"
    assert title in SOURCE_PARTS
    assert len(article_hashes.copied_runs(ARTICLE_RUN_HASHES, [title])) == 3  # its ten words hold three runs
    assert article_hashes.copied_runs(ARTICLE_RUN_HASHES, [answer_body("purpose_goals")]) == []


def test_the_committed_article_hashes_are_those_of_the_article():
    """When the article is beside the project, the committed file is exactly what
    `make article-hashes` writes from it."""
    if not article_hashes.DEFAULT_ARTICLE.exists():
        pytest.skip(ARTICLE_ABSENT)
    article = article_hashes.DEFAULT_ARTICLE.read_text(encoding="utf-8")
    assert article_hashes.HASH_FILE.read_text(encoding="utf-8") == article_hashes.hash_file_text(article)


def test_a_clone_without_the_article_skips_only_the_comparison_and_ci_allows_it():
    from skip_guard import ALLOWED_SKIPS

    assert ARTICLE_ABSENT in ALLOWED_SKIPS


def test_the_hash_script_writes_the_hashes_of_the_article_it_is_given(tmp_path, capsys):
    article, out = tmp_path / "article.txt", tmp_path / "hashes.txt"
    article.write_text("One two three four five six seven eight nine. Ten!", encoding="utf-8")
    assert article_hashes.main([str(article), "--out", str(out)]) == 0
    assert article_hashes.read_hash_file(out) == {
        article_hashes.run_hash(run)
        for run in [
            "one two three four five six seven eight",
            "two three four five six seven eight nine",
            "three four five six seven eight nine ten",
        ]
    }
    assert article_hashes.main([str(tmp_path / "missing.txt"), "--out", str(out)]) == 1
    assert "make article-hashes ARTICLE=" in capsys.readouterr().err


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
    from actions.first_session_guide import SUMMARY_RESPONSE

    known = set(load_clinic_profile().template_values())
    # The one reply an action fills in: the first-session notes, with the person's answers.
    filled_by_actions = {SUMMARY_RESPONSE: {"guide_summary"}}
    for name, variations in RESPONSES.items():
        for text in strings_in(variations):
            for placeholder in re.findall(r"{([^{}\n]+)}", text):
                assert placeholder in known | filled_by_actions.get(name, set()), (name, placeholder)


def test_the_therapist_pointer_is_worded_in_several_ways_with_the_clinic_contact():
    booking = [
        v
        for v in RESPONSES["utter_therapist_pointer"]
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


def test_every_emergency_reply_leads_with_the_emergency_number_and_carries_the_crisis_line():
    for variant in RESPONSES["utter_medical_emergency"]:
        assert "{emergency_number}" in variant["text"].split("\n")[0]
        assert "{crisis_line}" in variant["text"]


def test_someone_elses_emergency_read_by_the_risk_stage_has_its_own_emergency_reply():
    from components.risk_stage import SOMEONE_ELSES_EMERGENCY

    families = [
        condition["value"]
        for variant in RESPONSES["utter_medical_emergency"]
        for condition in variant.get("condition") or []
        if condition.get("name") == "crisis_family"
    ]
    assert SOMEONE_ELSES_EMERGENCY in families
