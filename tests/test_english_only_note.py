"""A message in another language that the assistant understands gets its answer in English,
opened by a line in the person's language saying the assistant answers in English
(content/server_replies.yml, threshold/nlg.py)."""

import asyncio

import pytest
import yaml
from conftest import CRISIS_LINE, EMERGENCY_NUMBER, PROJECT_ROOT

ANSWER = "utter_pre_appointment_cost"
NOTES = yaml.safe_load((PROJECT_ROOT / "content" / "server_replies.yml").read_text(encoding="utf-8"))[
    "english_only_note"
]


@pytest.fixture(scope="module")
def generator():
    from rasa.shared.core.domain import Domain

    from threshold.nlg import ClinicResponseGenerator

    domain = Domain.load([str(PROJECT_ROOT / "domain.yml"), str(PROJECT_ROOT / "data" / "responses")])
    return ClinicResponseGenerator(domain=domain)


def tracker_of(language, already_replied=False):
    from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    events = [UserUttered("a message", {"name": "pre_appointment_cost", "confidence": 0.9})]
    if language:
        events.append(SlotSet("reply_language", language))
    if already_replied:
        events.append(BotUttered("an earlier reply of the same turn"))
    return DialogueStateTracker.from_events("person", events)


def reply(generator, action, language, already_replied=False):
    return asyncio.run(generator.generate(action, tracker_of(language, already_replied), "rest"))["text"]


def english(generator, action):
    return generator.generate_from_slots(action, {}, "rest")["text"]


@pytest.mark.parametrize("language", [code for code in NOTES if code != "en"])
def test_an_answer_to_a_listed_language_opens_with_that_languages_note(generator, language):
    text = reply(generator, ANSWER, language)
    assert text.startswith(NOTES[language])
    assert text.endswith(english(generator, ANSWER))


def test_a_language_without_its_own_note_gets_the_english_note(generator):
    assert "ja" not in NOTES
    text = reply(generator, ANSWER, "ja")
    assert text == f"{NOTES['en']}\n\n{english(generator, ANSWER)}"


@pytest.mark.parametrize("language", [None, "en"])
def test_an_english_message_gets_no_note(generator, language):
    assert reply(generator, ANSWER, language) == english(generator, ANSWER)


def test_a_reply_with_its_own_version_in_the_language_gets_no_note(generator):
    translated = generator.generate_from_slots("utter_crisis_es", {}, "rest")["text"]
    assert reply(generator, "utter_crisis", "es") == translated


def test_the_other_language_reply_gets_no_second_note(generator):
    assert reply(generator, "utter_other_language", "fr") == english(generator, "utter_other_language")


def test_only_the_first_reply_of_a_turn_gets_the_note(generator):
    assert reply(generator, ANSWER, "fr", already_replied=True) == english(generator, ANSWER)


@pytest.mark.parametrize("action", ["utter_crisis", "utter_crisis_check", "utter_medical_emergency"])
def test_a_safety_reply_without_a_version_in_the_language_comes_first_and_the_note_after(generator, action):
    assert reply(generator, action, "fr") == f"{english(generator, action)}\n\n{NOTES['fr']}"


def test_the_clarifying_question_in_another_language_opens_with_the_note_and_keeps_the_numbers(generator):
    # It takes the place of the other-language reply, which gives both numbers.
    text = reply(generator, "utter_clarify_another_language", "es")
    assert text.startswith(NOTES["es"])
    assert CRISIS_LINE in text and EMERGENCY_NUMBER in text
