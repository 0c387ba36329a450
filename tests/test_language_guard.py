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
