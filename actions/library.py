"""The exercise library (content/exercises.yml, or the file THRESHOLD_EXERCISES names):
loaded once and validated."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from threshold.clinic_profile import PROJECT_ROOT
from threshold.content_files import read_content_file

DEFAULT_LIBRARY_PATH = PROJECT_ROOT / "content" / "exercises.yml"
# Another exercises file, as THRESHOLD_CLINIC_PROFILE names another clinic profile;
# a relative path is taken from the project root.
EXERCISES_PATH_ENV = "THRESHOLD_EXERCISES"
REQUIRED_MESSAGES = (
    "intro",
    "step",
    "step_hint",
    "ask_area",
    "other_area",
    "no_active",
    "all_done",
    "finished",
    "unavailable",
)
REQUIRED_BUTTONS = ("next", "another", "therapist", "stop", "start", "prepare")
MIN_STEPS, MAX_STEPS = 3, 6


class ExerciseLibraryError(ValueError):
    """The exercises file is missing or malformed."""


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    topics: Tuple[str, ...]
    minutes: int
    steps: Tuple[str, ...]
    closing: str


@dataclass(frozen=True)
class ExerciseLibrary:
    exercises: Tuple[Exercise, ...]
    messages: Dict[str, str]
    buttons: Dict[str, str]
    areas: Tuple[Tuple[str, str], ...]
    topic_aliases: Dict[str, str]

    def by_id(self, exercise_id: Optional[str]) -> Optional[Exercise]:
        return next((e for e in self.exercises if e.id == exercise_id), None)

    def topic_of_intent(self, intent: Optional[str]) -> Optional[str]:
        topic = self.topic_aliases.get(intent or "", intent)
        return topic if any(topic in e.topics for e in self.exercises) else None

    def pick(self, topic: Optional[str], exclude: Iterable[str]) -> Tuple[Optional[Exercise], bool]:
        """The first exercise for the topic not given yet, else one from another area.

        Returns the exercise and whether it fits the topic.
        """
        given = set(exclude)
        fresh = [e for e in self.exercises if e.id not in given]
        fitting = [e for e in fresh if topic in e.topics]
        if fitting:
            return fitting[0], True
        return (fresh[0], False) if fresh else (None, False)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ExerciseLibraryError(message)


# Every key the file may use: a misspelt one would otherwise be ignored without a word.
LIBRARY_KEYS = ("messages", "buttons", "topic_aliases", "areas", "exercises")
EXERCISE_KEYS = ("id", "title", "topics", "minutes", "steps", "closing")
AREA_KEYS = ("topic", "title")


def _refuse_unknown_keys(data: dict, known: Tuple[str, ...], where: str) -> None:
    unknown = sorted(str(key) for key in set(data) - set(known))
    _require(
        not unknown, f"{where}: unknown key '{unknown[0] if unknown else ''}' (expected: {', '.join(known)})"
    )


def parse_library(data: dict, source: str = "exercises.yml") -> ExerciseLibrary:
    _require(isinstance(data, dict), f"{source}: expected a mapping")
    _refuse_unknown_keys(data, LIBRARY_KEYS, source)
    messages = data.get("messages") or {}
    buttons = data.get("buttons") or {}
    for key in REQUIRED_MESSAGES:
        _require(isinstance(messages.get(key), str), f"{source}: messages.{key} is missing")
    for key in REQUIRED_BUTTONS:
        _require(isinstance(buttons.get(key), str), f"{source}: buttons.{key} is missing")
    exercises: List[Exercise] = []
    for index, item in enumerate(data.get("exercises") or []):
        where = f"{source}: exercises[{index}]"
        _require(isinstance(item, dict), f"{where} must be a mapping")
        _refuse_unknown_keys(item, EXERCISE_KEYS, where)
        for key in ("id", "title", "closing"):
            _require(isinstance(item.get(key), str) and item[key].strip(), f"{where}.{key} must be a text")
        steps = item.get("steps")
        _require(
            isinstance(steps, list) and MIN_STEPS <= len(steps) <= MAX_STEPS,
            f"{where} ({item.get('id')}): needs {MIN_STEPS} to {MAX_STEPS} steps",
        )
        topics = item.get("topics")
        _require(isinstance(topics, list) and topics, f"{where} ({item['id']}): needs topics")
        _require(isinstance(item.get("minutes"), int), f"{where} ({item['id']}): minutes must be a number")
        exercises.append(
            Exercise(item["id"], item["title"], tuple(topics), item["minutes"], tuple(steps), item["closing"])
        )
    _require(exercises, f"{source}: no exercises")
    ids = [e.id for e in exercises]
    _require(len(ids) == len(set(ids)), f"{source}: exercise ids must be unique")
    for index, area in enumerate(data.get("areas") or []):
        where = f"{source}: areas[{index}]"
        _require(isinstance(area, dict), f"{where} must be a mapping")
        _refuse_unknown_keys(area, AREA_KEYS, where)
        _require(all(isinstance(area.get(k), str) for k in AREA_KEYS), f"{where} needs a topic and a title")
    areas = tuple((a["topic"], a["title"]) for a in data.get("areas") or [])
    known_topics = {t for e in exercises for t in e.topics}
    for topic, _ in areas:
        _require(topic in known_topics, f"{source}: area '{topic}' has no exercise")
    return ExerciseLibrary(tuple(exercises), messages, buttons, areas, dict(data.get("topic_aliases") or {}))


def library_path(environ=os.environ) -> Path:
    """content/exercises.yml, or the file THRESHOLD_EXERCISES names."""
    named = (environ.get(EXERCISES_PATH_ENV) or "").strip()
    if not named:
        return DEFAULT_LIBRARY_PATH
    path = Path(named).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_library(path: Optional[Path] = None) -> ExerciseLibrary:
    """Read and validate the exercise library: `path`, else the one library_path() names."""
    path = Path(path) if path else library_path()
    return parse_library(
        read_content_file(path, ExerciseLibraryError, "the exercise library does not exist"), str(path)
    )
