"""The exercise actions, with rasa-sdk's CollectingDispatcher and trackers."""

import asyncio
import copy

import pytest
import yaml
from conftest import ARTICLE_TOPICS
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import LIBRARY
from actions.exercises import ActionExerciseStep, ActionSuggestExercise
from actions.library import LIBRARY_PATH, ExerciseLibraryError, parse_library

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


def test_suggestion_fits_the_last_topic_and_starts_at_step_one():
    messages, events = run(ActionSuggestExercise(), [user_event("feeling_stuck")])
    assert "Map a sticking point" in messages[0]["text"]
    assert "Step 1 of 5" in messages[0]["text"]
    assert events == [SlotSet("exercise_id", "map_sticking_point"), SlotSet("exercise_step", 1)]


def test_the_most_recent_topic_wins():
    history = [user_event("feeling_stuck"), user_event("transference")]
    messages, _ = run(ActionSuggestExercise(), history)
    assert "Where did this feeling come from?" in messages[0]["text"]


def test_an_area_chosen_from_the_menu_is_used():
    chosen = user_event("ask_exercise", [{"entity": "exercise_topic", "value": "behavior_self_control"}])
    messages, _ = run(ActionSuggestExercise(), [user_event("feeling_stuck"), chosen])
    assert "The pause between urge and action" in messages[0]["text"]


def test_without_a_topic_it_asks_which_area():
    messages, events = run(ActionSuggestExercise(), [user_event("greet")])
    assert "Which area" in messages[0]["text"]
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert len(payloads) == len(LIBRARY.areas)
    assert '/ask_exercise{"exercise_topic": "distress"}' in payloads
    assert events == []


def test_never_repeats_an_exercise_and_moves_to_another_area_when_one_runs_out():
    given = [user_event("feeling_stuck"), slot_event("exercise_id", "map_sticking_point")]
    messages, events = run(ActionSuggestExercise(), given)
    assert "What was the old habit's job?" in messages[0]["text"]
    given += [slot_event("exercise_id", "old_habit_job"), slot_event("exercise_id", "small_steps")]
    messages, events = run(ActionSuggestExercise(), given)
    assert LIBRARY.messages["other_area"] in messages[0]["text"]
    assert events[0].get("value") not in {"map_sticking_point", "old_habit_job", "small_steps"}


def test_when_every_exercise_was_given_it_says_so_and_points_to_a_therapist():
    given = [user_event("feeling_stuck")] + [slot_event("exercise_id", e.id) for e in LIBRARY.exercises]
    messages, _ = run(ActionSuggestExercise(), given)
    assert messages[0]["text"] == LIBRARY.messages["all_done"]
    assert messages[-1]["response"] == "utter_therapist_pointer"


def test_stepping_through_to_the_end_then_the_pointer():
    exercise = LIBRARY.by_id("where_feeling_from")
    slots = {"exercise_id": exercise.id, "exercise_step": 1}
    for number in range(2, len(exercise.steps) + 1):
        messages, events = run(ActionExerciseStep(), slots=slots)
        assert messages[0]["text"].startswith(f"Step {number} of {len(exercise.steps)}:")
        assert events == [SlotSet("exercise_step", number)]
        slots["exercise_step"] = number
    messages, events = run(ActionExerciseStep(), slots=slots)
    assert exercise.closing in messages[0]["text"]
    assert messages[-1]["response"] == "utter_therapist_pointer"
    assert {b["payload"] for b in messages[-1]["buttons"]} == {"/ask_exercise", "/book_appointment"}
    assert events == [SlotSet("exercise_id", None), SlotSet("exercise_step", None)]


def test_next_without_an_exercise_offers_one():
    messages, events = run(ActionExerciseStep(), slots={"exercise_id": None})
    assert messages[0]["text"] == LIBRARY.messages["no_active"]
    assert events == []


def _library_data():
    return yaml.safe_load(LIBRARY_PATH.read_text())


@pytest.mark.parametrize(
    "break_it,expected",
    [
        (lambda d: d["exercises"][0].update(steps=["only one"]), "3 to 6 steps"),
        (lambda d: d["messages"].pop("intro"), "messages.intro"),
        (lambda d: d["areas"].append({"topic": "nowhere", "title": "x"}), "area 'nowhere'"),
        (lambda d: d["exercises"].append(copy.deepcopy(d["exercises"][0])), "unique"),
        (lambda d: d["exercises"][0].pop("closing"), "closing"),
    ],
)
def test_a_broken_library_gives_a_clear_error(break_it, expected):
    data = _library_data()
    break_it(data)
    with pytest.raises(ExerciseLibraryError, match=expected):
        parse_library(data)
