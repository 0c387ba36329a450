"""Unit tests of the LanguageGuard component's decision."""

import pytest

from components.language_guard import looks_foreign, words_of

KNOWN = {"i", "feel", "stuck", "why", "does", "therapy", "take", "time", "hey", "my", "kms"}


@pytest.mark.parametrize(
    "text",
    ["me siento muy triste", "ich brauche hilfe", "我需要帮助", "мне нужна помощь", "je suis triste"],
)
def test_other_languages_are_noticed(text):
    assert looks_foreign(text, KNOWN, min_words=2, max_known_share=0.34)


@pytest.mark.parametrize(
    "text",
    [
        "I feel stuck",
        "why does therapy take time?",
        "hey hey",
        "🙂🙂🙂",
        "42",
        "kms",
        "i feel stuck, ¿sabes?",
        "qwrtp zxkv blorf",
    ],
)
def test_english_emoji_and_short_messages_are_left_alone(text):
    assert not looks_foreign(text, KNOWN, min_words=2, max_known_share=0.34)


def test_words_are_lowercased_letters_only():
    assert words_of("I'm 100% STUCK!!") == ["i'm", "stuck"]


def guard():
    from components.language_guard import LanguageGuard

    return LanguageGuard(LanguageGuard.get_default_config(), None, None, known=set(KNOWN))


def classified(text, intent, confidence):
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}])
    return message


def test_a_foreign_message_keeps_an_intent_the_classifier_is_sure_of():
    sure = guard().config["keep_intent_above"]
    message = guard().process([classified("cuánto cuesta una sesión", "pre_appointment_cost", sure)], None)[0]
    assert message.get("intent")["name"] == "pre_appointment_cost"


def test_a_foreign_message_the_classifier_is_unsure_of_gets_the_other_language_reply():
    unsure = guard().config["keep_intent_above"] - 0.01
    message = guard().process([classified("cuánto cuesta una sesión", "pre_appointment_cost", unsure)], None)[
        0
    ]
    assert message.get("intent")["name"] == "other_language"
    assert message.get("intent_ranking")[0]["name"] == "other_language"


@pytest.mark.parametrize("intent", ["safe_now", "not_safe", "affirm", "deny", "nlu_fallback"])
def test_a_foreign_answer_to_a_question_is_never_taken_from_a_guess(intent):
    assert intent in guard().config["never_kept"]
    message = guard().process([classified("sí estoy bien ahora", intent, 0.99)], None)[0]
    assert message.get("intent")["name"] == "other_language"


def test_an_english_message_keeps_its_intent_however_unsure():
    message = guard().process([classified("why does therapy take time", "why_hard_takes_time", 0.1)], None)[0]
    assert message.get("intent")["name"] == "why_hard_takes_time"
