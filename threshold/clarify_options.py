"""What the clarifying question may offer (content/clarify.yml), and which guesses it offers.

The titles are content: loaded once and validated against the intents in domain.yml and
the clinic profile's placeholders, so a missing title, an unknown intent or a safety
intent under `titles` stops the action server at start with a message naming the field.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Text, Tuple

import yaml

from threshold.clinic_profile import PROJECT_ROOT
from threshold.content_files import read_content_file

CLARIFY_PATH = PROJECT_ROOT / "content" / "clarify.yml"
DOMAIN_PATH = PROJECT_ROOT / "domain.yml"

FALLBACK_INTENT = "nlu_fallback"
# Set by the LanguageGuard (components/language_guard.py) in a message's parse data:
# {"foreign": true} when the message is not in English, so the clarifying question and its
# stand-in when the action server is down (components/action_server_fallback.py) know it too.
LANGUAGE_GUARD_KEY = "language_guard"


def found_in_another_language(parse_data: Optional[Mapping[Text, Any]]) -> bool:
    """Whether the LanguageGuard found the message of this parse data is not in English."""
    return bool(((parse_data or {}).get(LANGUAGE_GUARD_KEY) or {}).get("foreign"))


# Answered only by the safety replies, or set by the language guard: never a guess to offer,
# whatever the classifier's ranking says (the risk stage and safety net set them at 1.0).
SAFETY_INTENTS = ("crisis", "medical_emergency", "crisis_third_party", "crisis_info", "crisis_check")
NEVER_OFFERED = frozenset(SAFETY_INTENTS + ("safe_now", "not_safe", "other_language", FALLBACK_INTENT))

# Which guesses are likely enough to offer. The FallbackClassifier (config.yml) decides
# *whether* to ask; these decide *what* to offer: at most three guesses, each at least
# MIN_CONFIDENCE and at least MIN_SHARE_OF_BEST of the classifier's best guess (whatever
# intent that is), so a weak topic is not offered beside a much likelier "yes" or "help";
# and only when the first of them is a real contender (MIN_FIRST_CONFIDENCE). Otherwise
# the fallback reply, as before.
# Measured with the MeaningIntentClassifier (scripts/fallback_thresholds.py and a sweep of
# these three floors, on the cross-validation folds and the development sets,
# docs/measurements.md): its probabilities are spread wider than DIET's were, and lower
# floors let the right intent be offered more often (right or offered 0.881 to 0.891 in
# cross-validation) while a message with no known word still gets the fallback reply.
MIN_FIRST_CONFIDENCE = 0.2
MIN_CONFIDENCE = 0.05
MIN_SHARE_OF_BEST = 0.2
MAX_OFFERED = 3
MAX_TITLE_LENGTH = 40
_PLACEHOLDER = re.compile(r"{([^{}\n]*)}")
_KEYS = {"titles", "not_offered", "something_else"}


class ClarifyOptionsError(ValueError):
    """content/clarify.yml is missing or malformed."""


@dataclass(frozen=True)
class ClarifyOptions:
    titles: Dict[Text, Text]
    not_offered: Tuple[Text, ...]
    something_else: Optional[Tuple[Text, Text]]  # (intent, title)

    def likely_intents(self, ranking: Sequence[Mapping[Text, Any]]) -> List[Text]:
        """The offerable intents worth offering from a classifier ranking, most likely first."""
        confidence_of: Dict[Text, float] = {}
        for entry in ranking or []:
            name, confidence = entry.get("name"), entry.get("confidence")
            if name and name != FALLBACK_INTENT and isinstance(confidence, (int, float)):
                confidence_of[name] = max(float(confidence), confidence_of.get(name, 0.0))
        if not confidence_of:
            return []
        ordered = sorted(confidence_of.items(), key=lambda item: -item[1])
        best = ordered[0][1]
        offered = [
            name
            for name, confidence in ordered
            if name in self.titles
            and name not in NEVER_OFFERED
            and confidence >= MIN_CONFIDENCE
            and confidence >= MIN_SHARE_OF_BEST * best
        ][:MAX_OFFERED]
        if not offered or confidence_of[offered[0]] < MIN_FIRST_CONFIDENCE:
            return []
        return offered


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ClarifyOptionsError(message)


def _check_title(title: Any, where: str, placeholders: Set[Text], seen: Dict[Text, Text]) -> Text:
    _require(isinstance(title, str) and title.strip() != "", f"{where}: needs a title (a short text)")
    title = title.strip()
    _require(
        len(title) <= MAX_TITLE_LENGTH,
        f"{where}: the title is {len(title)} characters long; a button title has at most {MAX_TITLE_LENGTH}",
    )
    for name in _PLACEHOLDER.findall(title):
        _require(name in placeholders, f"{where}: {{{name}}} is not a value of the clinic profile")
    _require(
        title.lower() not in seen,
        f"{where}: the title '{title}' is also the title of {seen.get(title.lower())}; "
        "each button needs its own",
    )
    seen[title.lower()] = where
    return title


def parse_clarify_options(
    data: Any,
    domain_intents: Iterable[Text],
    placeholders: Iterable[Text] = (),
    source: str = "clarify.yml",
) -> ClarifyOptions:
    intents = list(domain_intents)
    known, placeholders = set(intents), set(placeholders)
    _require(
        isinstance(data, dict),
        f"{source}: expected a mapping with 'titles', 'not_offered' and 'something_else'",
    )
    unknown_keys = sorted(set(data) - _KEYS)
    _require(
        not unknown_keys,
        f"{source}: unknown key(s) {', '.join(map(str, unknown_keys))}; expected {', '.join(sorted(_KEYS))}",
    )

    titles_data = data.get("titles")
    _require(
        isinstance(titles_data, dict) and titles_data, f"{source}: titles must map intents to button titles"
    )
    titles: Dict[Text, Text] = {}
    seen: Dict[Text, Text] = {}
    for intent, title in titles_data.items():
        where = f"{source}: titles.{intent}"
        _require(intent in known, f"{where}: there is no intent '{intent}' in domain.yml")
        _require(
            intent not in NEVER_OFFERED,
            f"{where}: '{intent}' is answered by the safety replies only and can never be offered",
        )
        titles[intent] = _check_title(title, where, placeholders, seen)

    not_offered = data.get("not_offered") or []
    _require(
        isinstance(not_offered, list) and all(isinstance(i, str) for i in not_offered),
        f"{source}: not_offered must be a list of intent names",
    )
    for intent in not_offered:
        where = f"{source}: not_offered ({intent})"
        _require(intent in known, f"{where}: there is no intent '{intent}' in domain.yml")
        _require(intent not in titles, f"{where}: '{intent}' also has a title; list it in one place only")

    for intent in intents:
        _require(
            intent in titles or intent in not_offered or intent in NEVER_OFFERED,
            f"{source}: titles.{intent} is missing: the intent '{intent}' (domain.yml) needs a title, "
            f"or list it under not_offered",
        )

    something_else = None
    extra = data.get("something_else")
    if extra is not None:
        where = f"{source}: something_else"
        _require(
            isinstance(extra, dict) and set(extra) == {"intent", "title"},
            f"{where}: expected 'intent' and 'title'",
        )
        _require(
            extra["intent"] in known, f"{where}.intent: there is no intent '{extra['intent']}' in domain.yml"
        )
        _require(
            extra["intent"] not in NEVER_OFFERED,
            f"{where}.intent: '{extra['intent']}' is answered by the safety replies only "
            "and can never be offered",
        )
        _require(
            extra["intent"] not in titles,
            f"{where}.intent: '{extra['intent']}' has a title under titles; "
            "the last button is another intent",
        )
        something_else = (extra["intent"], _check_title(extra["title"], f"{where}.title", placeholders, seen))
    return ClarifyOptions(titles, tuple(not_offered), something_else)


def domain_intents(path: Path = DOMAIN_PATH) -> List[Text]:
    """The intent names of domain.yml (an intent may be written with options, as a mapping)."""
    domain = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    names = []
    for item in domain.get("intents") or []:
        names.extend(item.keys() if isinstance(item, dict) else [item])
    return [str(name) for name in names]


def load_clarify_options(
    path: Optional[Path] = None,
    intents: Optional[Iterable[Text]] = None,
    placeholders: Iterable[Text] = (),
) -> ClarifyOptions:
    path = Path(path or CLARIFY_PATH)
    data = read_content_file(path, ClarifyOptionsError, "the clarifying question's titles do not exist")
    return parse_clarify_options(
        data, domain_intents() if intents is None else intents, placeholders, str(path)
    )


def fill_placeholders(title: Text, values: Mapping[Text, Any]) -> Text:
    """A title with the clinic's {placeholders} filled, as the replies are."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), title)
