"""The exercise actions, with rasa-sdk's CollectingDispatcher and trackers."""

import asyncio
import copy
import importlib
import re

import pytest
import yaml
from conftest import ARTICLE_TOPICS, PROJECT_ROOT, exercises_for, step_line
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import actions
from actions import LIBRARY
from actions.exercises import ActionExerciseStep, ActionSuggestExercise
from actions.library import (
    DEFAULT_LIBRARY_PATH,
    EXERCISES_PATH_ENV,
    ExerciseLibraryError,
    library_path,
    load_library,
    parse_library,
)

KNOWN_TOPICS = set(ARTICLE_TOPICS) | {"distress", "first_session"}


def user_event(intent, entities=()):
    return {
        "event": "user",
        "text": intent,
        "parse_data": {"intent": {"name": intent, "confidence": 1.0}, "entities": list(entities)},
    }


def slot_event(name, value):
    return {"event": "slot", "name": name, "value": value}


def tracker(events=(), slots=None):
    return Tracker("person", dict(slots or {}), {}, list(events), False, None, {}, "action_listen")


def run(action, events=(), slots=None):
    dispatcher = CollectingDispatcher()
    result = asyncio.run(action.run(dispatcher, tracker(events, slots), {}))
    return dispatcher.messages, result


def test_library_has_at_least_twelve_valid_exercises():
    assert len(LIBRARY.exercises) >= 12
    for exercise in LIBRARY.exercises:
        assert 3 <= len(exercise.steps) <= 6
        assert "therapist" in exercise.closing.lower()
        assert set(exercise.topics) <= KNOWN_TOPICS, exercise.id
        assert exercise.minutes > 0


def test_every_article_topic_and_distress_has_an_exercise():
    covered = {topic for exercise in LIBRARY.exercises for topic in exercise.topics}
    assert KNOWN_TOPICS <= covered


def first_for(topic):
    """The exercise offered first for a topic: the first the library lists for it."""
    listed = exercises_for(LIBRARY, topic)
    assert listed, f"the library has no exercise for {topic}"
    return listed[0]


def test_suggestion_fits_the_last_topic_and_starts_at_step_one():
    expected = first_for("feeling_stuck")
    messages, events = run(ActionSuggestExercise(), [user_event("feeling_stuck")])
    assert expected.title in messages[0]["text"]
    assert step_line(LIBRARY, expected, 1) in messages[0]["text"]
    assert events == [SlotSet("exercise_id", expected.id), SlotSet("exercise_step", 1)]


def test_the_most_recent_topic_wins():
    earlier, latest = first_for("feeling_stuck"), first_for("transference")
    assert earlier != latest, "the two topics need different first exercises for this test"
    history = [user_event("feeling_stuck"), user_event("transference")]
    messages, _ = run(ActionSuggestExercise(), history)
    assert latest.title in messages[0]["text"] and earlier.title not in messages[0]["text"]


def test_an_area_chosen_from_the_menu_is_used():
    asked, chosen_area = first_for("feeling_stuck"), first_for("behavior_self_control")
    assert asked != chosen_area, "the two topics need different first exercises for this test"
    chosen = user_event("ask_exercise", [{"entity": "exercise_topic", "value": "behavior_self_control"}])
    messages, _ = run(ActionSuggestExercise(), [user_event("feeling_stuck"), chosen])
    assert chosen_area.title in messages[0]["text"] and asked.title not in messages[0]["text"]


def test_without_a_topic_it_asks_which_area():
    messages, events = run(ActionSuggestExercise(), [user_event("greet")])
    assert messages[0]["text"] == LIBRARY.messages["ask_area"]
    assert [b["title"] for b in messages[0]["buttons"]] == [title for _, title in LIBRARY.areas]
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert len(payloads) == len(LIBRARY.areas)
    assert '/ask_exercise{"exercise_topic": "distress"}' in payloads
    assert events == []


def test_never_repeats_an_exercise_and_moves_to_another_area_when_one_runs_out():
    stuck = exercises_for(LIBRARY, "feeling_stuck")
    assert len(stuck) >= 2, "feeling_stuck needs two exercises for this test"
    given = [user_event("feeling_stuck"), slot_event("exercise_id", stuck[0].id)]
    messages, events = run(ActionSuggestExercise(), given)
    assert stuck[1].title in messages[0]["text"] and stuck[0].title not in messages[0]["text"]
    assert events[0] == SlotSet("exercise_id", stuck[1].id)
    given += [slot_event("exercise_id", exercise.id) for exercise in stuck[1:]]
    messages, events = run(ActionSuggestExercise(), given)
    assert LIBRARY.messages["other_area"] in messages[0]["text"]
    assert events[0].get("value") not in {exercise.id for exercise in stuck}


def test_when_every_exercise_was_given_it_says_so_and_points_to_a_therapist():
    given = [user_event("feeling_stuck")] + [slot_event("exercise_id", e.id) for e in LIBRARY.exercises]
    messages, _ = run(ActionSuggestExercise(), given)
    assert messages[0]["text"] == LIBRARY.messages["all_done"]
    assert messages[-1]["response"] == "utter_therapist_pointer"


def test_stepping_through_to_the_end_then_the_pointer():
    # The longest exercise: every step but the first is one more turn.
    exercise = max(LIBRARY.exercises, key=lambda e: len(e.steps))
    slots = {"exercise_id": exercise.id, "exercise_step": 1}
    for number in range(2, len(exercise.steps) + 1):
        messages, events = run(ActionExerciseStep(), slots=slots)
        assert messages[0]["text"].startswith(step_line(LIBRARY, exercise, number))
        assert events == [SlotSet("exercise_step", number)]
        slots["exercise_step"] = number
    messages, events = run(ActionExerciseStep(), slots=slots)
    assert exercise.closing in messages[0]["text"]
    assert messages[-1]["response"] == "utter_therapist_pointer"
    assert {b["payload"] for b in messages[-1]["buttons"]} == {"/ask_exercise", "/book_appointment"}
    assert events == [SlotSet("exercise_id", None), SlotSet("exercise_step", None)]


def test_next_without_an_exercise_points_to_a_therapist_and_offers_the_guide_and_an_exercise():
    messages, events = run(ActionExerciseStep(), slots={"exercise_id": None})
    assert messages[0]["text"] == LIBRARY.messages["no_active"]
    assert messages[1]["response"] == "utter_therapist_pointer"
    assert [b["payload"] for b in messages[1]["buttons"]] == [
        "/book_appointment",
        "/prepare_first_session",
        "/ask_exercise",
    ]
    assert [b["title"] for b in messages[1]["buttons"]] == [
        LIBRARY.buttons["therapist"],
        LIBRARY.buttons["prepare"],
        LIBRARY.buttons["start"],
    ]
    assert events == []


def _library_data():
    return yaml.safe_load(library_path().read_text())


@pytest.mark.parametrize(
    "break_it,expected",
    [
        (lambda d: d["exercises"][0].update(steps=["only one"]), "3 to 6 steps"),
        (lambda d: d["messages"].pop("intro"), "messages.intro"),
        (lambda d: d["areas"].append({"topic": "nowhere", "title": "x"}), "area 'nowhere'"),
        (lambda d: d["exercises"].append(copy.deepcopy(d["exercises"][0])), "unique"),
        (lambda d: d["exercises"][0].pop("closing"), "closing"),
        # A misspelt key is refused by name, not ignored.
        (lambda d: d.update(topic_alias={}), "unknown key 'topic_alias'"),
        (lambda d: d["exercises"][0].update(closng="x"), r"exercises\[0\]: unknown key 'closng'"),
        (lambda d: d["areas"][0].update(titel="x"), r"areas\[0\]: unknown key 'titel'"),
    ],
)
def test_a_broken_library_gives_a_clear_error(break_it, expected):
    data = _library_data()
    break_it(data)
    with pytest.raises(ExerciseLibraryError, match=expected):
        parse_library(data)


def test_another_exercises_file_can_be_named_like_the_clinic_profile(tmp_path):
    assert library_path({}) == library_path({EXERCISES_PATH_ENV: " "}) == DEFAULT_LIBRARY_PATH
    # A relative path is taken from the project root, wherever the server was started.
    relative = "tests/fixtures/second_exercises.yml"
    assert library_path({EXERCISES_PATH_ENV: relative}) == PROJECT_ROOT / relative
    assert library_path({EXERCISES_PATH_ENV: str(tmp_path / "ours.yml")}) == tmp_path / "ours.yml"
    (tmp_path / "ours.yml").write_text(yaml.safe_dump(_library_data()))
    assert load_library(tmp_path / "ours.yml") == load_library()


def test_a_missing_exercises_file_is_named_and_stops_the_action_server(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "nowhere.yml"
    monkeypatch.setenv(EXERCISES_PATH_ENV, str(missing))
    with pytest.raises(
        ExerciseLibraryError, match=re.escape(f"{missing}: the exercise library does not exist")
    ):
        load_library()
    try:
        with pytest.raises(SystemExit) as stopped:
            importlib.reload(actions)
        assert stopped.value.code == 2
        error = capsys.readouterr().err
        assert "cannot start" in error and str(missing) in error
    finally:
        monkeypatch.undo()
        importlib.reload(actions)
    assert actions.LIBRARY == LIBRARY
