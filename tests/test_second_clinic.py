"""A clinic that edits clinic.yml and content/exercises.yml still gets a green test run.

The tests that check what replies and exercises show run again, in a separate pytest
process, with a second fictional clinic (tests/fixtures/second_clinic.yml) and a second
exercise library (tests/fixtures/second_exercises.yml) named by THRESHOLD_CLINIC_PROFILE
and THRESHOLD_EXERCISES: a test that wrote out the example clinic's or the example
exercises' values fails there.
"""

import os
import re
import subprocess
import sys

from conftest import PROJECT_ROOT, exercises_for

from actions.library import DEFAULT_LIBRARY_PATH, EXERCISES_PATH_ENV, load_library
from threshold.clinic_profile import PROFILE_PATH_ENV, load_clinic_profile

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
SECOND_CLINIC = FIXTURES / "second_clinic.yml"
SECOND_EXERCISES = FIXTURES / "second_exercises.yml"
SHIPPED_CLINIC = PROJECT_ROOT / "clinic.yml"
# Every test file that checks content from the profile or the library and needs no browser
# and no server but the action server the conversation fixtures start (about three
# minutes). Left out: the files that start a Rasa server with the channels
# (channel_server) or other servers, the browser tests, and the recall and false-alarm
# measurements over the development sets (test_safety_sets.py: hundreds of messages
# through the model; the contacts it checks are checked here by the crisis tests).
CONTENT_TESTS = [
    "tests/test_actions.py",
    "tests/test_content.py",
    "tests/test_conversations.py",
    "tests/test_clarify.py",
    "tests/test_web.py",
    "tests/test_clinic_profile.py",
    "tests/test_crisis_conversation.py",
    "tests/test_risk_stage.py",
]
RUN_TIMEOUT_SECONDS = 1800


def test_the_second_clinic_and_library_differ_from_the_shipped_ones():
    shipped, second = load_clinic_profile(SHIPPED_CLINIC), load_clinic_profile(SECOND_CLINIC)
    assert second.name != shipped.name and shipped.name not in second.name
    assert second.fees != shipped.fees
    assert second.phone != shipped.phone and second.booking_url != shipped.booking_url
    assert second.widget["primary_colour"] != shipped.widget["primary_colour"]
    example, other = load_library(DEFAULT_LIBRARY_PATH), load_library(SECOND_EXERCISES)
    assert not {e.title for e in example.exercises} & {e.title for e in other.exercises}
    assert example.exercises[0].title != other.exercises[0].title
    assert example.messages["step"] != other.messages["step"]
    # Each topic is still covered, and the first exercise offered for it has another
    # title; for some, another number of steps.
    topics = {topic for exercise in example.exercises for topic in exercise.topics}
    assert topics == {topic for exercise in other.exercises for topic in exercise.topics}
    firsts = [(exercises_for(example, t)[0], exercises_for(other, t)[0]) for t in sorted(topics)]
    assert all(ours.title != theirs.title for ours, theirs in firsts)
    assert any(len(ours.steps) != len(theirs.steps) for ours, theirs in firsts)


def test_the_content_tests_pass_with_another_clinic_and_other_exercises():
    environment = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        PROFILE_PATH_ENV: str(SECOND_CLINIC),
        EXERCISES_PATH_ENV: str(SECOND_EXERCISES),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CONTENT_TESTS],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )
    output = result.stdout + result.stderr
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    assert result.returncode == 0, output[-6000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) > 0, summary
    assert not re.search(r"\d+ (failed|errors?)\b", summary), summary
