"""Which language a message is written in (py3langid, its model shipped inside the wheel).

Shared by the RiskStage (a Spanish crisis message gets the Spanish crisis reply; each language's
examples are weighed alike) and the LanguageGuard (which examples teach English words).
"""

import unicodedata
from typing import Optional, Sequence, Text

MIN_WORDS_FOR_LANGUAGE = 3
# The languages a message is told apart among: English, the languages most spoken in US
# homes, and a few more that people write in. Without a closed list, short English
# questions came out as Nigerian Pidgin or Scots.
LANGUAGES = [
    "en",
    "es",
    "zh",
    "tl",
    "vi",
    "ar",
    "fr",
    "ko",
    "ru",
    "pt",
    "ht",
    "de",
    "it",
    "pl",
    "hi",
    "ja",
    "ur",
    "fa",
    "uk",
    "nl",
    "tr",
    "id",
]
_identifier = None


def language_identifier():
    global _identifier
    if _identifier is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
        _identifier.set_languages(LANGUAGES)
    return _identifier


def is_latin(letter: Text) -> bool:
    """A letter of the Latin script, with or without marks ("a", "é", "ắ"), also in its full-width
    or bold forms ("ｉ", "𝐢"), which people paste from fancy-text generators."""
    plain = unicodedata.normalize("NFKC", letter)
    return bool(plain) and all(unicodedata.name(c, "").startswith("LATIN") for c in plain if c.isalpha())


def mostly_another_script(letters: Sequence[Text]) -> bool:
    """Most of these letters are not Latin (Chinese, Arabic, Cyrillic...): a text that is
    surely not English, however short. Vietnamese and Polish are Latin script."""
    return bool(letters) and sum(is_latin(c) for c in letters) / len(letters) < 0.5


def message_language(text: Text) -> Optional[Text]:
    """ISO code of the message's language, or None when it is too short to tell."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    if not mostly_another_script(letters) and len(text.split()) < MIN_WORDS_FOR_LANGUAGE:
        return None
    return language_identifier().classify(unicodedata.normalize("NFKC", text))[0]
