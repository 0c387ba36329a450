"""Reflection exercises: suggested to fit the topic, never repeated, stepped through."""

import json
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import LIBRARY
from actions.conversation import button, current_topic, exercises_given
from actions.library import Exercise, ExerciseLibrary

POINTER_RESPONSE = "utter_therapist_pointer"


def _step_message(library: ExerciseLibrary, exercise: Exercise, number: int) -> Text:
    step = library.messages["step"].format(
        number=number, total=len(exercise.steps), text=exercise.steps[number - 1]
    )
    return f"{step}\n\n{library.messages['step_hint']}"


def _step_buttons(library: ExerciseLibrary) -> List[Dict[Text, Any]]:
    return [
        button(library.buttons["next"], "/next_step"),
        button(library.buttons["stop"], "/stop"),
    ]


def _after_buttons(library: ExerciseLibrary) -> List[Dict[Text, Any]]:
    return [
        button(library.buttons["another"], "/ask_exercise"),
        button(library.buttons["therapist"], "/book_appointment"),
    ]


class ExerciseAction(Action, ABC):
    """An action that works from the exercise library (abstract: not registered itself)."""

    def __init__(self, library: ExerciseLibrary = LIBRARY) -> None:
        self.library = library

    @abstractmethod
    def name(self) -> Text: ...


class ActionSuggestExercise(ExerciseAction):
    def name(self) -> Text:
        return "action_suggest_exercise"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List:
        library = self.library
        topic = current_topic(tracker, library)
        if topic is None:
            dispatcher.utter_message(
                text=library.messages["ask_area"],
                buttons=[
                    button(title, "/ask_exercise" + json.dumps({"exercise_topic": area}))
                    for area, title in library.areas
                ],
            )
            return []
        exercise, fits = library.pick(topic, exclude=exercises_given(tracker))
        if exercise is None:
            dispatcher.utter_message(text=library.messages["all_done"])
            dispatcher.utter_message(response=POINTER_RESPONSE)
            return [SlotSet("exercise_id", None), SlotSet("exercise_step", None)]
        intro = library.messages["intro"].format(title=exercise.title, minutes=exercise.minutes)
        if not fits:
            intro = f"{library.messages['other_area']} {intro}"
        dispatcher.utter_message(
            text=f"{intro}\n\n{_step_message(library, exercise, 1)}",
            buttons=_step_buttons(library),
        )
        return [SlotSet("exercise_id", exercise.id), SlotSet("exercise_step", 1)]


class ActionExerciseStep(ExerciseAction):
    def name(self) -> Text:
        return "action_exercise_step"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List:
        library = self.library
        exercise = library.by_id(tracker.get_slot("exercise_id"))
        if exercise is None:
            # Asked as "what now?" after reading, not inside an exercise: the ways on from here,
            # the therapist first.
            dispatcher.utter_message(text=library.messages["no_active"])
            dispatcher.utter_message(
                response=POINTER_RESPONSE,
                buttons=[
                    button(library.buttons["therapist"], "/book_appointment"),
                    button(library.buttons["prepare"], "/prepare_first_session"),
                    button(library.buttons["start"], "/ask_exercise"),
                ],
            )
            return []
        number = int(tracker.get_slot("exercise_step") or 0) + 1
        if number <= len(exercise.steps):
            dispatcher.utter_message(
                text=_step_message(library, exercise, number), buttons=_step_buttons(library)
            )
            return [SlotSet("exercise_step", number)]
        dispatcher.utter_message(text=f"{library.messages['finished']} {exercise.closing}")
        dispatcher.utter_message(response=POINTER_RESPONSE, buttons=_after_buttons(library))
        return [SlotSet("exercise_id", None), SlotSet("exercise_step", None)]
