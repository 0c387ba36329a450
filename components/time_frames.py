"""Whether a sentence tells of the past, from content/time_frames.yml.

Used by the risk stage and the SafetyNet: "I attempted suicide when I was 19" is read as part
of its message ("I'm 31 now and doing well"), not as a crisis told alone.
"""

import datetime
import re
import unicodedata
from pathlib import Path
from typing import Any, Dict, List, Optional, Pattern, Sequence, Text

from threshold.content_files import read_content_file

DEFAULT_PATH = Path("content/time_frames.yml")
FIELDS = ("told_as_past", "still_or_again")
NUMBER_WORDS = (
    "a an one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty few several many some couple"
).split()
_NUMBER = r"(?:\d+|" + "|".join(NUMBER_WORDS) + r")"
# Up to two years before this one: "in 2015" is past, "in 2026" may be now or to come.
_YEAR = "(?:" + "|".join(str(year) for year in range(1900, datetime.date.today().year - 1)) + ")"
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_CONTRACTIONS = [
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\b(he|she|it|that|there|who|what|this)'s\b"), r"\1 is"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'d\b"), " would"),
]
_WORD = re.compile(r"^[a-z0-9]+$")


class TimeFramesError(ValueError):
    """The time frames file is missing or malformed."""


def normalise(text: Text) -> Text:
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return " ".join(re.findall(r"[a-z0-9]+", text.replace("-", " ")))


def _phrase_pattern(phrase: Text, where: Text) -> Text:
    parts = []
    for word in phrase.split():
        optional = word.endswith("?") and len(word) > 1
        word = word.rstrip("?")
        if word == "<number>":
            part = _NUMBER
        elif word == "<year>":
            part = _YEAR
        else:
            alternatives = word.split("|")
            if not all(_WORD.match(a) for a in alternatives):
                raise TimeFramesError(
                    f"{where}: phrase '{phrase}': '{word}' must be lower-case words or numbers "
                    "joined by |, <number> or <year>"
                )
            part = "(?:" + "|".join(re.escape(a) for a in alternatives) + ")"
        parts.append(f"(?:{part} )?" if optional else f"{part} ")
    if not parts or all(part.endswith(")?") for part in parts):
        raise TimeFramesError(f"{where}: phrase '{phrase}' needs at least one word that is not optional")
    return "".join(parts)


def _compile(phrases: Any, where: Text) -> Pattern:
    if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) for p in phrases):
        raise TimeFramesError(f"{where}: must be a list of phrases")
    # Matched on " normalised text ", so every phrase is whole words.
    return re.compile(" (?:" + "|".join(_phrase_pattern(p, where) for p in phrases) + ")")


class TimeFrames:
    def __init__(self, data: Dict[Text, Any], source: Text) -> None:
        if not isinstance(data, dict):
            raise TimeFramesError(f"{source}: expected a mapping with {', '.join(FIELDS)}")
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise TimeFramesError(f"{source}: unknown key '{unknown[0]}' (expected: {', '.join(FIELDS)})")
        self.past = _compile(data.get("told_as_past"), f"{source}: told_as_past")
        self.now = _compile(data.get("still_or_again"), f"{source}: still_or_again")

    def told_as_past(self, sentence: Text) -> bool:
        """True when the sentence places what it tells in the past and says nothing of now."""
        text = f" {normalise(sentence)} "
        return bool(self.past.search(text)) and not self.now.search(text)

    def flags(self, sentences: Sequence[Text]) -> List[bool]:
        return [self.told_as_past(s) for s in sentences]


_loaded: Dict[Path, TimeFrames] = {}


def load_time_frames(path: Optional[Path] = None) -> TimeFrames:
    path = Path(path or DEFAULT_PATH)
    if path not in _loaded:
        data = read_content_file(path, TimeFramesError, "the time frames file does not exist")
        _loaded[path] = TimeFrames(data, str(path))
    return _loaded[path]
