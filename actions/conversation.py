"""What the conversation so far says, derived from the tracker's events."""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker

from actions.library import ExerciseLibrary

EXERCISE_TOPIC_ENTITY = "exercise_topic"
CRISIS_SLOT = "in_crisis"
# After someone has shown risk, the exercise offered is a grounding one.
CRISIS_TOPIC = "distress"


def current_topic(tracker: Tracker, library: ExerciseLibrary) -> Optional[Text]:
    """The most recent topic: an area chosen from the menu, or the last topic asked about.

    Once the conversation has shown risk, always the grounding area."""
    if tracker.get_slot(CRISIS_SLOT):
        return CRISIS_TOPIC
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        for entity in parse.get("entities") or []:
            if entity.get("entity") == EXERCISE_TOPIC_ENTITY:
                return entity.get("value")
        topic = library.topic_of_intent((parse.get("intent") or {}).get("name"))
        if topic:
            return topic
    return None


def exercises_given(tracker: Tracker) -> List[Text]:
    """Every exercise started in this conversation."""
    return [
        event["value"]
        for event in tracker.events
        if event.get("event") == "slot" and event.get("name") == "exercise_id" and event.get("value")
    ]


def button(title: Text, payload: Text) -> Dict[Text, Any]:
    return {"title": title, "payload": payload}
