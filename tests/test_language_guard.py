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


def test_a_foreign_message_the_classifier_is_unsure_of_gets_the_clarifying_question_with_its_guess():
    from threshold.clarify_options import load_clarify_options

    unsure = guard().config["keep_intent_above"] - 0.01
    assert unsure >= guard().config["clarify_above"]
    message = guard().process([classified("cuánto cuesta una sesión", "pre_appointment_cost", unsure)], None)[
        0
    ]
    assert message.get("intent")["name"] == "nlu_fallback"
    assert message.get("language_guard") == {"foreign": True}
    ranking = message.get("intent_ranking")
    assert ranking[0]["name"] == "nlu_fallback"
    assert "other_language" not in [r["name"] for r in ranking]
    # The clarifying question offers the guess as a button.
    assert "pre_appointment_cost" in load_clarify_options().likely_intents(ranking)


def test_a_foreign_message_after_the_fallback_classifier_still_gets_the_clarifying_question():
    message = classified("cuánto cuesta una sesión", "nlu_fallback", 0.45)
    message.set(
        "intent_ranking",
        [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "pre_appointment_cost", "confidence": 0.3}],
    )
    message = guard().process([message], None)[0]
    assert message.get("intent") == {"name": "nlu_fallback", "confidence": 0.3}
    assert [r["name"] for r in message.get("intent_ranking")] == ["nlu_fallback", "pre_appointment_cost"]


def test_a_foreign_message_without_a_likely_guess_gets_the_other_language_reply():
    unlikely = guard().config["clarify_above"] - 0.01
    message = guard().process(
        [classified("cuánto cuesta una sesión", "pre_appointment_cost", unlikely)], None
    )[0]
    assert message.get("intent")["name"] == "other_language"
    assert message.get("intent_ranking")[0]["name"] == "other_language"


def test_a_foreign_message_whose_best_guess_is_an_answer_gets_the_other_language_reply():
    message = classified("sí, claro, cuánto", "safe_now", 0.5)
    message.set(
        "intent_ranking",
        [{"name": "safe_now", "confidence": 0.5}, {"name": "pre_appointment_cost", "confidence": 0.4}],
    )
    assert "safe_now" in guard().config["never_kept"]
    assert guard().process([message], None)[0].get("intent")["name"] == "other_language"


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"clarify_above": "0.2"}, "clarify_above"),
        ({"clarify_above": True}, "clarify_above"),
        ({"keep_intent_above": 1.5}, "keep_intent_above"),
        ({"clarify_above": 0.7, "keep_intent_above": 0.6}, "clarify_above"),
    ],
)
def test_a_bad_threshold_stops_the_guard_with_the_field_named(changes, field):
    from components.language_guard import LanguageGuard

    config = dict(LanguageGuard.get_default_config(), **changes)
    with pytest.raises(ValueError, match=f"'{field}'"):
        LanguageGuard.create(config, None, None, None)


@pytest.mark.parametrize("intent", ["safe_now", "not_safe", "affirm", "deny", "nlu_fallback"])
def test_a_foreign_answer_to_a_question_is_never_taken_from_a_guess(intent):
    assert intent in guard().config["never_kept"]
    message = guard().process([classified("sí estoy bien ahora", intent, 0.99)], None)[0]
    assert message.get("intent")["name"] == "other_language"


def test_an_english_message_keeps_its_intent_however_unsure():
    message = guard().process([classified("why does therapy take time", "why_hard_takes_time", 0.1)], None)[0]
    assert message.get("intent")["name"] == "why_hard_takes_time"
    assert message.get("language_guard") is None


@pytest.mark.parametrize(
    "text,language",
    [
        ("¿Para qué sirve la terapia? Nunca he ido", "es"),
        ("我需要帮助，想预约咨询", "zh"),
        ("Est-ce que la thérapie aide à changer ses habitudes ?", "fr"),
        ("how do i book", None),
        ("price per session?", None),
        ("why does therapy take so long for me", None),
    ],
)
def test_written_in_another_language_names_foreign_text_and_leaves_english_alone(text, language):
    from components.language_guard import written_in_another_language

    assert written_in_another_language(text) == language


def test_training_learns_the_words_of_english_examples_only(tmp_path):
    from types import SimpleNamespace

    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from components.language_guard import LanguageGuard

    examples = [
        Message(data={"text": "do you take telehealth clients", "intent": "pre_appointment_online"}),
        Message(
            data={"text": "¿hacen terapia por videollamada desde casa?", "intent": "pre_appointment_online"}
        ),
    ]
    no_lemmas = SimpleNamespace(model=SimpleNamespace(has_pipe=lambda name: False))
    component = LanguageGuard(
        LanguageGuard.get_default_config(), LocalModelStorage(tmp_path), Resource("guard")
    )
    component.train(TrainingData(training_examples=examples), no_lemmas)
    assert "telehealth" in component.known
    assert "videollamada" not in component.known
    assert looks_foreign("hacen terapia por videollamada", component.known, min_words=2, max_known_share=0.34)


@pytest.mark.parametrize(
    "text, another",
    [
        ("Tôi cắt sâu quá, máu chảy không ngừng", False),
        ("Czy mogę przyjść w sobotę?", False),
        ("Ở đâu?", False),
        ("ｉ ｗａｎｔ ｔｏ ｄｉｅ", False),
        ("how much is a session", False),
        ("我想预约一次咨询", True),
        ("Сколько стоит консультация?", True),
        ("كم سعر الجلسة؟", True),
    ],
)
def test_another_script_means_letters_outside_the_latin_script_even_with_marks(text, another):
    from components.languages import mostly_another_script

    assert mostly_another_script([c for c in text if c.isalpha()]) is another


def test_english_in_full_width_letters_is_read_as_english():
    from components.languages import message_language

    assert message_language("ｉ ｗａｎｔ ｔｏ ｄｉｅ ｔｏｎｉｇｈｔ") == "en"
