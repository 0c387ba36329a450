"""Ask instead of guessing: action_clarify with hand-built trackers, its content file
(content/clarify.yml) and its validation, and what the Rasa server makes of its messages.
No trained model is needed."""

import asyncio
import copy
import importlib

import pytest
import yaml
from conftest import ARTICLE_TOPICS, CRISIS_LINE, PROJECT_ROOT
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions
from actions import CLARIFY, CLINIC
from actions.clarify import ActionClarify
from threshold import clarify_options
from threshold.clarify_options import (
    CLARIFY_PATH,
    MIN_CONFIDENCE,
    MIN_FIRST_CONFIDENCE,
    MIN_SHARE_OF_BEST,
    NEVER_OFFERED,
    ClarifyOptionsError,
    domain_intents,
    fill_placeholders,
    load_clarify_options,
    parse_clarify_options,
)

CONTENT = yaml.safe_load(CLARIFY_PATH.read_text(encoding="utf-8"))
TITLES = CONTENT["titles"]
SOMETHING_ELSE = CONTENT["something_else"]
DOMAIN_INTENTS = domain_intents()
PLACEHOLDERS = set(CLINIC.template_values())
SAFETY_AND_LANGUAGE = [
    "crisis",
    "medical_emergency",
    "crisis_check",
    "crisis_third_party",
    "crisis_info",
    "other_language",
]


def ranking(*pairs):
    return [{"name": name, "confidence": confidence} for name, confidence in pairs]


def unsure(*pairs, threshold=0.45):
    """A message as the FallbackClassifier leaves it: nlu_fallback on top of the guesses."""
    return {
        "text": "...",
        "intent": {"name": "nlu_fallback", "confidence": threshold},
        "intent_ranking": ranking(("nlu_fallback", threshold), *pairs),
        "entities": [],
    }


def run(latest_message, slots=None):
    tracker = Tracker("person", dict(slots or {}), latest_message, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionClarify().run(dispatcher, tracker, {}))
    assert events == []
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0]


def offered(message):
    """The guessed intents of a clarifying question (without the last button)."""
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads[-1] == f"/{SOMETHING_ELSE['intent']}"
    return [payload[1:] for payload in payloads[:-1]]


def expected_buttons(*intents):
    return [{"title": TITLES[i], "payload": f"/{i}"} for i in intents] + [
        {"title": SOMETHING_ELSE["title"], "payload": f"/{SOMETHING_ELSE['intent']}"}
    ]


# The action: when it asks, what it offers.


def test_close_top_two_get_a_question_with_a_button_for_each():
    message = run(
        unsure(
            ("pre_appointment_session_length", 0.47),
            ("pre_appointment_first_session", 0.45),
            ("why_hard_takes_time", 0.03),
        )
    )
    assert message["response"] == "utter_clarify"
    assert message["buttons"] == expected_buttons(
        "pre_appointment_session_length", "pre_appointment_first_session"
    )


def test_a_low_confidence_offers_at_most_three_guesses_most_likely_first():
    message = run(
        unsure(
            ("using_experiences", 0.22),
            ("behavior_self_control", 0.30),
            ("transference", 0.20),
            ("purpose_goals", 0.18),
            ("greet", 0.05),
        )
    )
    assert message["response"] == "utter_clarify"
    assert offered(message) == ["behavior_self_control", "using_experiences", "transference"]


def test_every_offerable_intent_can_be_offered_with_its_own_title():
    for intent, title in TITLES.items():
        message = run(unsure((intent, 0.40), ("greet", 0.30)))
        assert message["buttons"][0] == {"title": title, "payload": f"/{intent}"}, intent


@pytest.mark.parametrize("intent", sorted(NEVER_OFFERED - {"nlu_fallback"}))
def test_safety_and_language_intents_in_the_ranking_are_never_offered(intent):
    message = run(unsure((intent, 0.44), ("feeling_stuck", 0.42), ("when_complete", 0.41)))
    assert intent not in offered(message)
    assert offered(message) == ["feeling_stuck", "when_complete"]


def test_a_ranking_of_only_safety_intents_gets_the_fallback_reply_without_guesses():
    message = run(
        unsure(("crisis", 0.40), ("crisis_check", 0.38), ("not_safe", 0.1), ("other_language", 0.1))
    )
    assert message["response"] == "utter_fallback"
    assert message["buttons"] == []


@pytest.mark.parametrize("intent", SAFETY_AND_LANGUAGE)
def test_never_asks_when_a_later_stage_set_a_safety_or_language_intent(intent):
    """The risk stage, safety net and language guard set these at 1.0: the clarifying
    question must not replace their reply, even if this action were run."""
    set_by_stage = {
        "text": "...",
        "intent": {"name": intent, "confidence": 1.0},
        "intent_ranking": ranking((intent, 1.0), ("feeling_stuck", 0.44), ("when_complete", 0.43)),
    }
    assert run(set_by_stage)["response"] != "utter_clarify"
    # Nor when such an intent is in the ranking at full confidence under nlu_fallback.
    message = run(unsure((intent, 1.0), ("feeling_stuck", 0.44), ("when_complete", 0.43)))
    assert message["response"] != "utter_clarify"
    assert message["buttons"] == []


@pytest.mark.parametrize(
    "guesses",
    [
        # Gibberish: the weight is on replies such as "yes" and "help", no topic is likely.
        [("affirm", 0.27), ("help", 0.12), ("next_step", 0.11), ("purpose_goals", 0.05)],
        # A weak topic beside a much likelier intent that is never offered.
        [("help", 0.36), ("purpose_goals", 0.16), ("next_step", 0.10)],
        # Every guess under the floor.
        [("feeling_stuck", 0.14), ("when_complete", 0.13), ("how_it_works", 0.12)],
        # No ranking at all.
        [],
    ],
)
def test_no_good_candidate_gets_the_existing_fallback_reply(guesses):
    message = run(unsure(*guesses))
    assert message["response"] == "utter_fallback"
    assert message["buttons"] == []


def found_foreign(message):
    """A message as the LanguageGuard leaves one it found is not in English."""
    return dict(message, language_guard={"foreign": True})


def test_a_message_in_another_language_with_no_guess_to_offer_gets_the_other_language_reply():
    message = run(found_foreign(unsure(("greet", 0.3))))
    assert message["response"] == "utter_other_language"
    assert message["buttons"] == []
    assert run(unsure(("greet", 0.3)))["response"] == "utter_fallback"


def test_a_message_in_another_language_with_a_likely_guess_gets_the_clarifying_question_in_its_version():
    message = run(found_foreign(unsure(("pre_appointment_cost", 0.5), ("pre_appointment_online", 0.2))))
    assert message["response"] == "utter_clarify_another_language"
    assert offered(message) == ["pre_appointment_cost", "pre_appointment_online"]


def test_a_weak_second_guess_is_left_out():
    best = 0.40
    under_share_of_best = round(best * MIN_SHARE_OF_BEST - 0.01, 3)
    message = run(
        unsure(
            ("how_it_works", best),
            ("knowing_it_works", 0.17),
            ("research_effectiveness", under_share_of_best),
        )
    )
    assert offered(message) == ["how_it_works", "knowing_it_works"]
    message = run(unsure(("how_it_works", 0.44), ("knowing_it_works", round(MIN_CONFIDENCE - 0.01, 3))))
    assert offered(message) == ["how_it_works"]


def test_no_question_when_the_best_offerable_guess_is_under_the_first_floor():
    message = run(unsure(("affirm", 0.3), ("feeling_stuck", round(MIN_FIRST_CONFIDENCE - 0.01, 3))))
    assert message["response"] == "utter_fallback"
    assert message["buttons"] == []


def test_payloads_trigger_an_intent_with_a_rule_that_answers_it():
    """One tap gets the answer: every title's intent starts a rule in data/rules/."""
    rule_intents = set()
    for path in (PROJECT_ROOT / "data" / "rules").glob("*.yml"):
        for rule in yaml.safe_load(path.read_text())["rules"]:
            if rule["steps"] and "intent" in rule["steps"][0]:
                rule_intents.add(rule["steps"][0]["intent"])
    assert set(TITLES) | {SOMETHING_ELSE["intent"]} <= rule_intents


def test_the_rule_for_an_unsure_message_runs_the_action():
    rules = yaml.safe_load((PROJECT_ROOT / "data" / "rules" / "conversation.yml").read_text())["rules"]
    steps = [rule["steps"] for rule in rules if rule["steps"][0].get("intent") == "nlu_fallback"]
    assert steps == [[{"intent": "nlu_fallback"}, {"action": "action_clarify"}]]
    assert "action_clarify" in yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["actions"]


# The content file.


def test_titles_come_from_the_content_file_and_cover_the_topics():
    assert CLARIFY.titles == {intent: title.strip() for intent, title in TITLES.items()}
    assert set(ARTICLE_TOPICS) <= set(CLARIFY.titles)
    assert not set(CLARIFY.titles) & NEVER_OFFERED


def test_every_domain_intent_has_a_title_or_is_never_offered():
    for intent in DOMAIN_INTENTS:
        assert intent in CLARIFY.titles or intent in CLARIFY.not_offered or intent in NEVER_OFFERED, intent


def test_the_never_offered_intents_include_every_safety_intent_of_the_domain():
    assert set(SAFETY_AND_LANGUAGE) | {"safe_now", "not_safe", "nlu_fallback"} <= NEVER_OFFERED
    safety_section = yaml.safe_load((PROJECT_ROOT / "data" / "rules" / "safety.yml").read_text())["rules"]
    answered_by_safety_replies = {
        r["steps"][0]["intent"] for r in safety_section if "intent" in r["steps"][0]
    }
    assert answered_by_safety_replies - {"distress", "medical_advice"} <= NEVER_OFFERED


def _parse(data):
    return parse_clarify_options(data, DOMAIN_INTENTS, PLACEHOLDERS)


@pytest.mark.parametrize(
    "break_it,expected",
    [
        (
            lambda d: d["titles"].update(how_to_fly="Flying"),
            r"titles\.how_to_fly: there is no intent 'how_to_fly'",
        ),
        (lambda d: d["titles"].update(feeling_stuck=""), r"titles\.feeling_stuck: needs a title"),
        (lambda d: d["titles"].update(feeling_stuck=None), r"titles\.feeling_stuck: needs a title"),
        (lambda d: d["titles"].pop("feeling_stuck"), r"titles\.feeling_stuck is missing"),
        (lambda d: d["not_offered"].remove("greet"), r"titles\.greet is missing"),
        (lambda d: d["titles"].update(crisis="Are you safe?"), r"titles\.crisis: .*can never be offered"),
        (
            lambda d: d["titles"].update(other_language="Another language"),
            r"titles\.other_language: .*can never be offered",
        ),
        (lambda d: d["titles"].update(greet="Hello"), r"not_offered \(greet\): 'greet' also has a title"),
        (
            lambda d: d["titles"].update(feeling_stuck="x" * 41),
            r"titles\.feeling_stuck: the title is 41 characters",
        ),
        (
            lambda d: d["titles"].update(feeling_stuck="Stuck at {clinic_nmae}"),
            r"titles\.feeling_stuck: \{clinic_nmae\} is not a value",
        ),
        (
            lambda d: d["titles"].update(when_complete=d["titles"]["feeling_stuck"]),
            r"titles\.\w+: the title .* also",
        ),
        (lambda d: d.update(extra={}), r"unknown key\(s\) extra"),
        (
            lambda d: d["something_else"].update(intent="nowhere"),
            r"something_else\.intent: there is no intent",
        ),
        (
            lambda d: d["something_else"].update(intent="crisis"),
            r"something_else\.intent: .*can never be offered",
        ),
        (lambda d: d["something_else"].update(title=""), r"something_else\.title: needs a title"),
    ],
)
def test_a_broken_content_file_gives_a_clear_error_naming_the_field(break_it, expected):
    data = copy.deepcopy(CONTENT)
    break_it(data)
    with pytest.raises(ClarifyOptionsError, match=expected):
        _parse(data)


def test_a_clinic_placeholder_in_a_title_is_filled():
    data = copy.deepcopy(CONTENT)
    data["titles"]["book_appointment"] = "Booking at {clinic_name}"
    options = _parse(data)
    message = asyncio.run(
        _run_with(options, unsure(("book_appointment", 0.40), ("pre_appointment_cost", 0.38)))
    )
    assert message["buttons"][0] == {"title": f"Booking at {CLINIC.name}", "payload": "/book_appointment"}


async def _run_with(options, latest_message):
    tracker = Tracker("person", {}, latest_message, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    await ActionClarify(options).run(dispatcher, tracker, {})
    return dispatcher.messages[0]


def test_the_action_server_does_not_start_with_a_title_missing(tmp_path, monkeypatch, capsys):
    broken = copy.deepcopy(CONTENT)
    broken["titles"].pop("pre_appointment_cost")
    path = tmp_path / "clarify.yml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(ClarifyOptionsError, match="titles.pre_appointment_cost is missing"):
        load_clarify_options(path)
    monkeypatch.setattr(clarify_options, "CLARIFY_PATH", path)
    try:
        with pytest.raises(SystemExit) as stopped:
            importlib.reload(actions)
        assert stopped.value.code == 2
        error = capsys.readouterr().err
        assert "cannot start" in error and "titles.pre_appointment_cost is missing" in error
    finally:
        monkeypatch.undo()
        importlib.reload(actions)
    assert actions.CLARIFY == CLARIFY


def test_a_missing_content_file_is_named(tmp_path):
    with pytest.raises(ClarifyOptionsError, match="do not exist"):
        load_clarify_options(tmp_path / "nowhere.yml")


# What the Rasa server makes of the action's messages (its NLG, as in a running server).


@pytest.fixture(scope="module")
def server_side():
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.trackers import DialogueStateTracker

    from threshold.nlg import ClinicResponseGenerator

    domain = Domain.load([str(PROJECT_ROOT / "domain.yml"), str(PROJECT_ROOT / "data" / "responses")])
    generator = ClinicResponseGenerator(domain=domain, profile=CLINIC)

    def utter(latest_message, in_crisis=False):
        message = run(latest_message, slots={"in_crisis": in_crisis})
        tracker = DialogueStateTracker.from_events(
            "person", [ActionExecuted("action_listen")], slots=domain.slots
        )
        tracker.slots["in_crisis"].value = in_crisis
        bot = asyncio.run(
            RemoteAction._utter_responses([message], CollectingOutputChannel(), generator, tracker)
        )
        assert len(bot) == 1
        return bot[0]

    return utter


def test_the_server_sends_the_question_with_the_buttons(server_side):
    bot = server_side(
        unsure(("pre_appointment_session_length", 0.47), ("pre_appointment_first_session", 0.45))
    )
    assert bot.metadata["utter_action"] == "utter_clarify"
    assert bot.text and "{" not in bot.text
    assert bot.data["buttons"] == expected_buttons(
        "pre_appointment_session_length", "pre_appointment_first_session"
    )


def test_in_crisis_mode_the_question_keeps_the_crisis_line(server_side):
    bot = server_side(unsure(("feeling_stuck", 0.40), ("when_complete", 0.38)), in_crisis=True)
    assert bot.metadata["utter_action"] == "utter_clarify"
    assert CRISIS_LINE in bot.text
    assert [b["payload"] for b in bot.data["buttons"]][:2] == ["/feeling_stuck", "/when_complete"]


def test_with_no_good_candidate_the_server_sends_the_fallback_reply_as_before(server_side):
    bot = server_side(unsure(("affirm", 0.27), ("help", 0.12)))
    assert bot.metadata["utter_action"] == "utter_fallback"
    # The fallback reply's own buttons, nothing added.
    assert any(b["payload"] == "/book_appointment" for b in bot.data["buttons"])


def _asked(intent, entities):
    from rasa.shared.core.events import UserUttered

    return UserUttered("two questions", intent={"name": intent, "confidence": 0.9}, entities=entities)


def _second(intent):
    return [{"entity": "second_question", "value": intent, "start": 0, "end": 0}]


@pytest.fixture(scope="module")
def generator():
    from rasa.shared.core.domain import Domain

    from threshold.nlg import ClinicResponseGenerator

    domain = Domain.load([str(PROJECT_ROOT / "domain.yml"), str(PROJECT_ROOT / "data" / "responses")])
    return ClinicResponseGenerator(domain=domain, profile=CLINIC)


def test_the_answer_to_the_first_question_offers_the_second_as_its_first_button(generator):
    response = generator.generate_from_slots("utter_pre_appointment_session_length", {}, "rest")
    offered = generator.with_second_question(
        response,
        "utter_pre_appointment_session_length",
        _asked("pre_appointment_session_length", _second("pre_appointment_cancellation")),
    )
    title = fill_placeholders(CLARIFY.titles["pre_appointment_cancellation"], CLINIC.template_values())
    assert offered["buttons"][0] == {"title": title, "payload": "/pre_appointment_cancellation"}
    assert offered["buttons"][1:] == [
        b for b in response.get("buttons") or [] if b["payload"] != "/pre_appointment_cancellation"
    ]
    assert offered["text"] == response["text"]


def test_no_second_question_button_without_a_second_question_or_outside_answers(generator):
    response = generator.generate_from_slots("utter_pre_appointment_cost", {}, "rest")
    plain = _asked("pre_appointment_cost", [])
    assert generator.with_second_question(response, "utter_pre_appointment_cost", plain) == response
    same = _asked("pre_appointment_cost", _second("pre_appointment_cost"))
    assert generator.with_second_question(response, "utter_pre_appointment_cost", same) == response
    # A safety reply never carries it, whatever the message asked.
    crisis = generator.generate_from_slots("utter_crisis", {}, "rest")
    asked = _asked("crisis", _second("pre_appointment_cost"))
    assert generator.with_second_question(crisis, "utter_crisis", asked) == crisis
