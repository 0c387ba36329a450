"""A question that comes with words the risk stage is unsure of gets the check-in question
first and then its answer, when the classifier was sure of the question (threshold/nlg.py)."""

import asyncio

import pytest
from conftest import CRISIS_LINE, PROJECT_ROOT

CHECK = "utter_crisis_check"


@pytest.fixture(scope="module")
def generator():
    from rasa.shared.core.domain import Domain

    from threshold.nlg import ClinicResponseGenerator

    domain = Domain.load([str(PROJECT_ROOT / "domain.yml"), str(PROJECT_ROOT / "data" / "responses")])
    return ClinicResponseGenerator(domain=domain)


def checked(*ranking, language=None, text="a question with worrying words?"):
    """The tracker of a message the risk stage turned into a check-in, the classifier's
    ranking (intent, confidence) kept after it, as components/risk_stage.py leaves it."""
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    intent = {"name": CHECK[len("utter_") :], "confidence": 1.0}
    parse = {
        "text": text,
        "intent": intent,
        "entities": [],
        "intent_ranking": [intent] + [{"name": name, "confidence": c} for name, c in ranking],
    }
    events = [UserUttered(text, intent, [], parse_data=parse)]
    if language:
        events.append(SlotSet("reply_language", language))
    return DialogueStateTracker.from_events("person", events)


def reply(generator, tracker):
    return asyncio.run(generator.generate(CHECK, tracker, "rest"))


def plain(generator, slots=None):
    return generator.generate_from_slots(CHECK, slots or {}, "rest")


def sure_ranking(generator, intent, runner_up="greet"):
    """A ranking as sure of `intent` as the assistant needs to answer it, from config.yml."""
    first = min(0.99, generator.sure_enough + 0.1)
    return (intent, first), (runner_up, max(0.0, first - generator.clear_enough - 0.1))


def test_the_thresholds_are_the_fallback_classifiers_in_config():
    import yaml

    from threshold.nlg import fallback_thresholds

    pipeline = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["pipeline"]
    fallback = next(c for c in pipeline if c["name"] == "FallbackClassifier")
    assert fallback_thresholds() == (fallback["threshold"], fallback["ambiguity_threshold"])


def test_a_config_without_the_fallback_classifier_is_refused_by_name(tmp_path):
    from threshold.nlg import ServerRepliesError, fallback_thresholds

    config = tmp_path / "config.yml"
    config.write_text("pipeline:\n  - name: WhitespaceTokenizer\n")
    with pytest.raises(ServerRepliesError, match="FallbackClassifier"):
        fallback_thresholds(config)


@pytest.mark.parametrize(
    "intent, answer",
    [
        ("feeling_stuck", "utter_answer_feeling_stuck"),
        ("pre_appointment_cancellation", "utter_pre_appointment_cancellation"),
        ("book_appointment", "utter_book_appointment"),
    ],
)
def test_a_sure_question_gets_the_check_in_first_then_its_answer(generator, intent, answer):
    got = reply(generator, checked(*sure_ranking(generator, intent)))
    check = plain(generator)
    answer_text = generator.generate_from_slots(answer, {}, "rest")["text"]
    intro = generator.generate_from_slots("utter_crisis_check_answer_intro", {}, "rest")["text"]
    assert got["text"] == f"{check['text']}\n\n{intro}\n\n{answer_text}"
    assert got["text"].index(CRISIS_LINE) < got["text"].index(answer_text)
    assert got["buttons"] == check["buttons"]  # the check-in's own: yes, I am / no, I'm not


def test_an_unsure_question_gets_the_check_in_alone(generator):
    below = generator.sure_enough - 0.05
    got = reply(generator, checked(("feeling_stuck", below), ("when_complete", below - 0.2)))
    assert got == plain(generator)


def test_two_close_questions_get_the_check_in_alone(generator):
    first = generator.sure_enough + 0.1
    close = first - generator.clear_enough / 2
    got = reply(generator, checked(("feeling_stuck", first), ("when_complete", close)))
    assert got == plain(generator)


@pytest.mark.parametrize("intent", ["distress", "crisis", "greet", "ask_exercise"])
def test_no_answer_is_added_for_what_is_not_a_question_with_an_answer(generator, intent):
    got = reply(generator, checked(*sure_ranking(generator, intent)))
    assert got == plain(generator)


def test_a_check_in_in_another_language_gets_no_english_answer(generator):
    got = reply(generator, checked(*sure_ranking(generator, "feeling_stuck"), language="es"))
    assert got == plain(generator, {"reply_language": "es"})
    assert got != plain(generator)  # the Spanish check-in itself


def test_a_statement_without_a_question_gets_the_check_in_alone(generator):
    got = reply(generator, checked(*sure_ranking(generator, "feeling_stuck"), text="worrying words."))
    assert got == plain(generator)


def test_other_replies_are_not_given_an_answer(generator):
    tracker = checked(*sure_ranking(generator, "feeling_stuck"))
    got = asyncio.run(generator.generate("utter_crisis", tracker, "rest"))
    assert got == generator.generate_from_slots("utter_crisis", {}, "rest")


# Through the trained model: questions with words that may or may not be risk. Whichever
# of them the risk stage answers with the check-in, the reply must ask first and answer after.
UNSURE_QUESTIONS = [
    "Dying to get started honestly. How do I book a first appointment?",
    "I can't take much more of this waiting. What does a session cost?",
    "I just want it all to stop. What should I bring to my first session?",
]


def test_through_the_model_a_check_in_on_a_question_asks_first_and_answers_after(new_conversation, agent):
    intro = agent.nlg.generate_from_slots("utter_crisis_check_answer_intro", {}, "rest")["text"]
    combined = 0
    for text in UNSURE_QUESTIONS:
        conversation = new_conversation()
        first = conversation.say(text)[0]
        if first["action"] != CHECK:
            continue
        held = agent.nlg.held_question(conversation.tracker().latest_message)
        assert held is not None, text
        answer = agent.nlg.generate_from_slots(held, {}, "rest")["text"]
        assert first["text"].index(CRISIS_LINE) < first["text"].index(intro) < first["text"].index(answer)
        assert first["buttons"] == agent.nlg.generate_from_slots(CHECK, {}, "rest")["buttons"]
        combined += 1
    assert combined >= 2  # measured: all three on the shipped model
