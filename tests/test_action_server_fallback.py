"""Unit tests of the ActionServerFallbackPolicy: when it speaks, and its settings."""

import pytest
import rasa.core.actions.action as rasa_actions
import yaml
from conftest import PROJECT_ROOT
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException

from components.action_server_fallback import ActionServerFallbackPolicy, failed_action_this_turn

EXERCISE_ACTIONS = ["action_suggest_exercise", "action_exercise_step"]
CONFIG = {"actions": EXERCISE_ACTIONS, "response": "utter_exercise_unavailable", "action_timeout_seconds": 4}


def tracker(*events):
    return DialogueStateTracker.from_events("person", [ActionExecuted("action_listen"), *events])


def user(intent):
    return UserUttered("...", {"name": intent, "confidence": 1.0})


@pytest.fixture(scope="module")
def domain():
    return Domain.load([str(PROJECT_ROOT / "domain.yml"), str(PROJECT_ROOT / "data" / "responses")])


@pytest.fixture
def make_policy(tmp_path):
    original_timeout = rasa_actions.DEFAULT_REQUEST_TIMEOUT

    def make(**overrides):
        config = {**ActionServerFallbackPolicy.get_default_config(), **CONFIG, **overrides}
        storage = LocalModelStorage(tmp_path)
        context = ExecutionContext(GraphSchema({}), "test")
        return ActionServerFallbackPolicy.create(config, storage, Resource("fallback"), context)

    yield make
    rasa_actions.DEFAULT_REQUEST_TIMEOUT = original_timeout


def test_a_silent_exercise_action_is_a_failed_turn():
    assert failed_action_this_turn(
        tracker(user("ask_exercise"), ActionExecuted("action_suggest_exercise")), EXERCISE_ACTIONS
    )


def test_an_exercise_action_that_spoke_is_not():
    events = [user("ask_exercise"), ActionExecuted("action_suggest_exercise"), BotUttered("Try this.")]
    assert not failed_action_this_turn(tracker(*events), EXERCISE_ACTIONS)


def test_other_actions_and_the_start_of_a_turn_are_not():
    assert not failed_action_this_turn(
        tracker(user("greet"), ActionExecuted("utter_greet")), EXERCISE_ACTIONS
    )
    assert not failed_action_this_turn(tracker(user("ask_exercise")), EXERCISE_ACTIONS)
    # A silent exercise action in an earlier turn does not count now.
    events = [
        user("ask_exercise"),
        ActionExecuted("action_suggest_exercise"),
        ActionExecuted("utter_exercise_unavailable"),
        BotUttered("Sorry."),
        ActionExecuted("action_listen"),
        user("greet"),
    ]
    assert not failed_action_this_turn(tracker(*events), EXERCISE_ACTIONS)


def test_the_policy_predicts_the_note_only_after_a_failure(make_policy, domain):
    policy = make_policy()
    failed = policy.predict_action_probabilities(
        tracker(user("ask_exercise"), ActionExecuted("action_suggest_exercise")), domain
    )
    assert domain.action_names_or_texts[failed.max_confidence_index] == "utter_exercise_unavailable"
    assert failed.max_confidence == 1.0 and failed.policy_priority > 6  # above the RulePolicy
    quiet = policy.predict_action_probabilities(tracker(user("greet")), domain)
    assert quiet.max_confidence == 0.0


def test_each_action_gets_its_own_configured_reply(make_policy, domain):
    replies = {"action_suggest_exercise": "utter_exercise_unavailable", "action_clarify": "utter_fallback"}
    policy = make_policy(actions=replies, response=None)
    for action, response in replies.items():
        failed = policy.predict_action_probabilities(
            tracker(user("anything"), ActionExecuted(action)), domain
        )
        assert domain.action_names_or_texts[failed.max_confidence_index] == response


def test_a_message_in_another_language_gets_the_reply_configured_for_it(make_policy, domain):
    policy = make_policy(
        actions={"action_clarify": "utter_fallback"},
        response=None,
        in_another_language={"action_clarify": "utter_other_language"},
    )
    foreign = UserUttered(
        "ich brauche hilfe",
        {"name": "nlu_fallback", "confidence": 0.3},
        parse_data={"language_guard": {"foreign": True}},
    )
    failed = policy.predict_action_probabilities(tracker(foreign, ActionExecuted("action_clarify")), domain)
    assert domain.action_names_or_texts[failed.max_confidence_index] == "utter_other_language"
    english = policy.predict_action_probabilities(
        tracker(user("nlu_fallback"), ActionExecuted("action_clarify")), domain
    )
    assert domain.action_names_or_texts[english.max_confidence_index] == "utter_fallback"


def test_the_shipped_config_covers_every_custom_action_that_answers_a_message():
    policies = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["policies"]
    configured = [p for p in policies if p["name"].endswith("ActionServerFallbackPolicy")][0]["actions"]
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    # A form's validation action runs inside the form: the form is what answers.
    answering = {
        action[len("validate_") :] if action[len("validate_") :] in domain.get("forms", {}) else action
        for action in domain["actions"]
    }
    assert answering <= set(configured)
    assert set(domain.get("forms", {})) <= set(configured)


def test_the_policy_sets_the_action_server_timeout(make_policy):
    make_policy(action_timeout_seconds=2.5)
    assert rasa_actions.DEFAULT_REQUEST_TIMEOUT == 2.5


def test_action_server_answers_are_still_checked(make_policy):
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction

    make_policy()
    action = RemoteAction("action_suggest_exercise", None)
    assert action._validate_action_result(
        {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]}
    )
    with pytest.raises(ValidationError, match="Failed to validate"):
        action._validate_action_result({"events": "not a list"})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": [{"event": "no_such_event"}]})


def test_the_configured_timeout_keeps_the_wait_short():
    policies = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["policies"]
    fallback = [p for p in policies if p["name"].endswith("ActionServerFallbackPolicy")]
    assert len(fallback) == 1 and 0 < fallback[0]["action_timeout_seconds"] <= 10


@pytest.mark.parametrize(
    "overrides",
    [
        {"actions": []},
        {"actions": "action_suggest_exercise"},
        {"response": "exercise_unavailable"},
        {"actions": {"action_clarify": "fallback"}},
        {"actions": {}},
        {"actions": {"action_clarify": "utter_fallback"}, "response": "utter_exercise_unavailable"},
        {"response": None},
        {"action_timeout_seconds": 0},
        {"action_timeout_seconds": "4"},
        {"action_timeout_seconds": True},
        {"action_timeout_seconds": 301},
        {"in_another_language": ["utter_other_language"]},
        {"in_another_language": {"action_not_configured": "utter_other_language"}},
        {"in_another_language": {"action_suggest_exercise": "other_language"}},
    ],
)
def test_bad_settings_stop_with_a_clear_error(make_policy, overrides):
    with pytest.raises(InvalidConfigException, match="ActionServerFallbackPolicy"):
        make_policy(**overrides)


def test_training_checks_the_names_against_the_domain(make_policy, domain):
    with pytest.raises(InvalidConfigException, match="utter_missing"):
        make_policy(response="utter_missing").train([], domain)
    assert make_policy().train([], domain) == Resource("fallback")
