"""The first-session guide's parts without a trained model: its content file, which message
counts as an answer, the summary action, the validation action, the LeaveFormPolicy, and
how the ActionServerFallbackPolicy tells a finished form from a failed one."""

import asyncio
import copy

import pytest
import yaml
from conftest import PROJECT_ROOT
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import InvalidConfigException
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import GUIDE
from actions.first_session_guide import (
    ASIDE_INTENTS,
    DECLINE_INTENTS,
    DECLINE_MAX_WORDS,
    FORM_NAME,
    GUIDE_SLOTS,
    LEAVE_INTENTS,
    NO_IS_AN_ANSWER_SLOTS,
    QUESTIONS_SLOT,
    SKIP_INTENTS,
    SKIPPED,
    SUMMARY_KEY,
    ActionGuideSummary,
    GuideContentError,
    ValidateFirstSessionGuideForm,
    answer_to,
    load_guide_content,
    parse_guide_content,
)
from components.action_server_fallback import failed_action_this_turn
from components.leave_form import LeaveFormPolicy
from threshold.channels.checks import GUIDE_SUMMARY

CONTENT = yaml.safe_load((PROJECT_ROOT / "content" / "first_session_guide.yml").read_text())
DOMAIN_FILE = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
CONFIG = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
RULES = yaml.safe_load((PROJECT_ROOT / "data" / "rules" / "first_session_guide.yml").read_text())["rules"]
NOT_THE_QUESTIONS_SLOT = next(slot for slot in GUIDE_SLOTS if slot != QUESTIONS_SLOT)


@pytest.fixture(scope="module")
def domain():
    return Domain.load([str(PROJECT_ROOT / "domain.yml"), str(PROJECT_ROOT / "data" / "responses")])


def message(text, intent="feeling_stuck"):
    return {"text": text, "intent": {"name": intent, "confidence": 0.9}}


# The content file and the domain agree.


def test_the_forms_questions_are_the_content_labels_and_each_has_its_question(domain):
    assert tuple(DOMAIN_FILE["forms"][FORM_NAME]["required_slots"]) == GUIDE_SLOTS
    assert tuple(CONTENT["labels"]) == GUIDE_SLOTS
    for slot in GUIDE_SLOTS:
        assert f"utter_ask_{slot}" in domain.responses
        assert DOMAIN_FILE["slots"][slot]["mappings"] == [{"type": "custom"}]


def test_the_widget_the_channels_and_the_action_use_the_same_key_for_the_notes():
    assert SUMMARY_KEY == GUIDE_SUMMARY
    assert f"message.{SUMMARY_KEY}" in (PROJECT_ROOT / "web" / "widget.js").read_text()


def test_every_question_to_the_assistant_has_a_rule_that_answers_it_inside_the_guide():
    answered = {
        rule["steps"][0]["intent"]
        for rule in RULES
        if "intent" in rule["steps"][0] and rule["steps"][-1] == {"active_loop": FORM_NAME}
    }
    assert ASIDE_INTENTS <= answered


@pytest.mark.parametrize(
    "change,field",
    [
        (lambda c: c.pop("title"), "title"),
        (lambda c: c.update(line="{label} only"), "line"),
        (lambda c: c["labels"].pop(GUIDE_SLOTS[1]), "labels"),
        (lambda c: c.update(labels=dict(reversed(list(c["labels"].items())))), "labels"),
        (lambda c: c["labels"].update({GUIDE_SLOTS[0]: " "}), f"labels.{GUIDE_SLOTS[0]}"),
        (lambda c: c.update(colour="blue"), "colour"),
    ],
)
def test_a_broken_content_file_is_refused_with_the_field_named(change, field):
    broken = copy.deepcopy(CONTENT)
    change(broken)
    with pytest.raises(GuideContentError, match=field.replace(".", r"\.")):
        parse_guide_content(broken)


def test_a_missing_or_unreadable_content_file_is_a_clear_error(tmp_path):
    with pytest.raises(GuideContentError, match="does not exist"):
        load_guide_content(tmp_path / "absent.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("title: [unclosed\n")
    with pytest.raises(GuideContentError, match="not valid YAML"):
        load_guide_content(bad)


# Which message is an answer.


@pytest.mark.parametrize("intent", sorted(SKIP_INTENTS))
def test_skip_and_next_skip_the_question(intent):
    assert answer_to(GUIDE_SLOTS[0], message("skip", intent)) == SKIPPED
    assert answer_to(GUIDE_SLOTS[0], message(f"/{intent}", intent)) == SKIPPED


@pytest.mark.parametrize("intent", sorted(DECLINE_INTENTS))
def test_a_short_no_skips_the_question_except_where_no_is_the_answer(intent):
    short_no = " ".join(["pass"] * DECLINE_MAX_WORDS)
    for slot in GUIDE_SLOTS:
        expected = short_no if slot in NO_IS_AN_ANSWER_SLOTS else SKIPPED
        assert answer_to(slot, message(short_no, intent)) == expected
    # A longer no carries an answer; a button's payload is not one.
    long_no = " ".join(["no"] * (DECLINE_MAX_WORDS + 1))
    assert answer_to(GUIDE_SLOTS[0], message(long_no, intent)) == long_no
    assert answer_to(GUIDE_SLOTS[0], message(f"/{intent}", intent)) is None


def test_the_slots_where_no_is_an_answer_are_questions_of_the_guide():
    assert NO_IS_AN_ANSWER_SLOTS and NO_IS_AN_ANSWER_SLOTS <= set(GUIDE_SLOTS)


@pytest.mark.parametrize("intent", sorted(LEAVE_INTENTS))
def test_risk_stop_and_leaving_messages_are_never_answers(intent):
    for slot in GUIDE_SLOTS:
        assert answer_to(slot, message("some words", intent)) is None


def test_a_question_to_the_assistant_is_not_an_answer_except_on_the_questions_step():
    for intent in sorted(ASIDE_INTENTS):
        asked = message("how much does a session cost?", intent)
        assert answer_to(NOT_THE_QUESTIONS_SLOT, asked) is None
        assert answer_to(QUESTIONS_SLOT, asked) == "how much does a session cost?"


def test_statements_are_answers_whatever_the_classifier_calls_them():
    for intent in ("feeling_stuck", "distress", "nlu_fallback", "other_language", "greet"):
        assert answer_to(GUIDE_SLOTS[0], message("  I keep avoiding people at work  ", intent)) == (
            "I keep avoiding people at work"
        )


@pytest.mark.parametrize("text,intent", [("help", "help"), ("continue my notes", "prepare_first_session")])
def test_a_short_request_to_the_assistant_is_not_an_answer_even_without_a_question_mark(text, intent):
    assert answer_to(GUIDE_SLOTS[0], message(text, intent)) is None
    # A longer message is an answer, whatever it was taken for.
    long_text = "I need help with panic attacks that started at work last year"
    assert answer_to(GUIDE_SLOTS[0], message(long_text, intent)) == long_text


def test_another_buttons_payload_and_an_empty_message_are_not_answers():
    assert answer_to(GUIDE_SLOTS[0], message("/why_hard_takes_time", "why_hard_takes_time")) is None
    assert answer_to(GUIDE_SLOTS[0], message("/affirm", "affirm")) is None
    assert answer_to(GUIDE_SLOTS[0], message("   ", "nlu_fallback")) is None


def run_validation(requested_slot, latest):
    tracker = Tracker(
        "person",
        {"requested_slot": requested_slot},
        latest,
        [],
        False,
        None,
        {"name": FORM_NAME},
        "action_listen",
    )
    return asyncio.run(ValidateFirstSessionGuideForm().run(CollectingDispatcher(), tracker, {}))


def test_the_validation_action_fills_only_the_question_being_asked():
    events = run_validation(GUIDE_SLOTS[2], message("I tried journaling"))
    filled = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert filled == {GUIDE_SLOTS[2]: "I tried journaling"}


def test_the_validation_action_fills_nothing_for_a_risk_message():
    # Nothing filled: Rasa's form rejects the message and the guide's rules reply.
    events = run_validation(GUIDE_SLOTS[0], message("i want to end it all", "crisis"))
    assert [e for e in events if e["event"] == "slot" and e["name"] in GUIDE_SLOTS] == []


# The summary.


def answers(**given):
    return {slot: given.get(slot) for slot in GUIDE_SLOTS}


def test_the_summary_lists_exactly_the_answers_in_the_order_asked():
    written = {slot: f"answer {index} to {slot}" for index, slot in enumerate(GUIDE_SLOTS)}
    written[GUIDE_SLOTS[1]] = SKIPPED
    summary = GUIDE.summary(written)
    lines = summary.splitlines()
    assert lines[0] == CONTENT["title"]
    expected = [
        CONTENT["line"].replace("{label}", CONTENT["labels"][slot]).replace("{answer}", written[slot])
        for slot in GUIDE_SLOTS
        if written[slot] != SKIPPED
    ]
    assert lines[1:] == expected


def test_every_question_skipped_gives_no_summary():
    assert GUIDE.summary(answers(**{slot: SKIPPED for slot in GUIDE_SLOTS})) is None
    assert GUIDE.summary(answers()) is None


def test_an_answer_with_braces_is_kept_as_written():
    summary = GUIDE.summary(answers(**{GUIDE_SLOTS[0]: "my {label} and {answer} words"}))
    assert "my {label} and {answer} words" in summary


def run_summary(slots):
    dispatcher = CollectingDispatcher()
    tracker = Tracker("person", slots, {}, [], False, None, {}, "action_listen")
    events = asyncio.run(ActionGuideSummary(GUIDE).run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def test_the_summary_action_sends_the_notes_to_show_and_to_keep_then_clears_the_answers():
    slots = answers(**{GUIDE_SLOTS[0]: "work stress", GUIDE_SLOTS[3]: "I talk fast when nervous"})
    messages, events = run_summary(slots)
    assert len(messages) == 1
    sent = messages[0]
    assert sent["response"] == "utter_guide_summary"
    assert sent["guide_summary"] == GUIDE.summary(slots)
    assert sent["custom"] == {SUMMARY_KEY: GUIDE.summary(slots)}
    assert {e["name"]: e["value"] for e in events} == {slot: None for slot in GUIDE_SLOTS}


def test_the_summary_action_with_nothing_answered_sends_the_empty_reply():
    messages, _ = run_summary(answers(**{slot: SKIPPED for slot in GUIDE_SLOTS}))
    assert [m["response"] for m in messages] == ["utter_guide_summary_empty"]
    assert not messages[0].get("custom")


# The LeaveFormPolicy.


def leave_policy(tmp_path, intents=("crisis", "stop")):
    config = {**LeaveFormPolicy.get_default_config(), "intents": list(intents)}
    context = ExecutionContext(GraphSchema({}), "test")
    return LeaveFormPolicy.create(config, LocalModelStorage(tmp_path), Resource("leave"), context)


def loop_tracker(intent, active=True):
    events = [ActionExecuted("action_listen")]
    if active:
        events += [ActionExecuted(FORM_NAME), ActiveLoop(FORM_NAME), ActionExecuted("action_listen")]
    events.append(UserUttered("...", {"name": intent, "confidence": 1.0}))
    return DialogueStateTracker.from_events("person", events)


def predicted(policy, tracker, domain):
    probabilities = policy.predict_action_probabilities(tracker, domain).probabilities
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    return domain.action_names_or_texts[best] if probabilities[best] > 0 else None


def test_a_risk_message_leaves_an_active_form_before_the_form_runs(tmp_path, domain):
    policy = leave_policy(tmp_path)
    assert predicted(policy, loop_tracker("crisis"), domain) == "action_deactivate_loop"
    assert predicted(policy, loop_tracker("stop"), domain) == "action_deactivate_loop"


def test_other_messages_and_no_active_form_are_left_to_the_rules(tmp_path, domain):
    policy = leave_policy(tmp_path)
    assert predicted(policy, loop_tracker("feeling_stuck"), domain) is None
    assert predicted(policy, loop_tracker("crisis", active=False), domain) is None


def test_the_leave_policy_refuses_a_missing_intent_list_and_unknown_intents(tmp_path, domain):
    with pytest.raises(InvalidConfigException, match="intents"):
        leave_policy(tmp_path, intents=())
    with pytest.raises(InvalidConfigException, match="not_an_intent"):
        leave_policy(tmp_path, intents=("crisis", "not_an_intent")).train([], domain)


def test_config_sends_every_risk_intent_and_stop_out_of_the_guide():
    policy = next(p for p in CONFIG["policies"] if p["name"].endswith("LeaveFormPolicy"))
    assert set(policy["intents"]) == LEAVE_INTENTS
    assert {"crisis", "medical_emergency", "crisis_check", "crisis_third_party"} <= set(policy["intents"])


def test_every_leaving_intent_has_a_rule_that_ends_the_guide_and_replies():
    leaving = {}
    for rule in RULES:
        steps = rule["steps"]
        ends_the_guide = steps[1:3] == [{"action": "action_deactivate_loop"}, {"active_loop": None}]
        if "intent" in steps[0] and ends_the_guide:
            leaving[steps[0]["intent"]] = steps[3]["action"]
    assert set(leaving) == LEAVE_INTENTS
    assert leaving["crisis"] == "utter_crisis" and leaving["medical_emergency"] == "utter_medical_emergency"


# A finished form sends no message but is not a failed action.


def test_a_form_that_finished_is_not_a_failed_action():
    finished = DialogueStateTracker.from_events(
        "person",
        [
            ActionExecuted("action_listen"),
            UserUttered("...", {"name": "skip_question", "confidence": 1.0}),
            ActionExecuted(FORM_NAME),
            SlotSet(GUIDE_SLOTS[-1], SKIPPED),
            SlotSet("requested_slot", None),
            ActiveLoop(None),
        ],
    )
    assert not failed_action_this_turn(finished, [FORM_NAME])
    silent = DialogueStateTracker.from_events(
        "person",
        [
            ActionExecuted("action_listen"),
            UserUttered("...", {"name": "feeling_stuck", "confidence": 1.0}),
            ActionExecuted(FORM_NAME),
        ],
    )
    assert failed_action_this_turn(silent, [FORM_NAME])
