"""Unit tests of the SafetyNet component and its patterns file."""

import pytest
import yaml
from conftest import PROJECT_ROOT
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.shared.nlu.training_data.message import Message

from components.safety_net import (
    SAFETY_NET_KEY,
    PatternSet,
    SafetyNet,
    SafetyPatternsError,
    squeeze,
)

PATTERNS_FILE = PROJECT_ROOT / "content" / "safety_patterns.yml"
PATTERN_DATA = yaml.safe_load(PATTERNS_FILE.read_text(encoding="utf-8"))
FAMILY_EXAMPLES = [
    (family, example)
    for family, spec in PATTERN_DATA["families"].items()
    for example in spec.get("examples", [])
]
ALL_IDIOMS = [idiom for spec in PATTERN_DATA["families"].values() for idiom in spec.get("idioms", [])]


def test_every_family_has_examples_and_idioms():
    for family, spec in PATTERN_DATA["families"].items():
        assert len(spec.get("examples", [])) >= 3, family
        assert spec.get("idioms"), family


@pytest.mark.parametrize("family,example", FAMILY_EXAMPLES)
def test_family_matches_its_examples(safety_patterns, family, example):
    matched = [name for name, _ in safety_patterns.match(example)]
    assert family in matched, f"{example!r} should match {family}, matched {matched}"


@pytest.mark.parametrize("idiom", ALL_IDIOMS)
def test_no_family_matches_an_idiom(safety_patterns, idiom):
    assert safety_patterns.match(idiom) == []


@pytest.mark.parametrize(
    "variant",
    [
        "I want to kill myself",
        "i want to kill myself",
        "I want to kill my self",
        "I wantttt to killl myselfff",
        "i want to killmyself",
        "i want to kil myself",
        "I\u2019m going to end my life",
        "im gonna end my life",
    ],
)
def test_robust_to_case_spacing_repeats_and_apostrophes(safety_patterns, variant):
    assert safety_patterns.match(variant), variant


def test_squeeze_collapses_repeated_letters():
    assert squeeze("killll") == squeeze("kill") == "kil"


def _process(
    safety_patterns,
    text,
    classifier_intent="greet",
    stage_risk=None,
    check_below=0.0,
    stage_intent=None,
    emergency_check_below=0.0,
):
    net = SafetyNet(
        {
            "patterns": str(PATTERNS_FILE),
            "check_below": check_below,
            "emergency_check_below": emergency_check_below,
        }
    )
    net._patterns = safety_patterns
    message = Message.build(text=text, intent=classifier_intent)
    message.set("intent", {"name": classifier_intent, "confidence": 0.9})
    message.set("intent_ranking", [{"name": classifier_intent, "confidence": 0.9}])
    if stage_risk is not None:
        message.set("risk_stage", {"intent": stage_intent, "risk": stage_risk})
    spacy_model = SpacyModel(model=safety_patterns.nlp, model_name="test")
    return net.process([message], spacy_model)[0]


def test_component_overrides_intent_and_records_family(safety_patterns):
    message = _process(safety_patterns, "my boyfriend choked me last night")
    assert message.get("intent") == {"name": "crisis", "confidence": 1.0}
    assert message.get("intent_ranking")[0]["name"] == "crisis"
    assert message.get(SAFETY_NET_KEY)["family"] == "abuse"
    assert message.get(SAFETY_NET_KEY)["classifier_intent"] == "greet"
    assert {"crisis_family": "abuse"} == {e["entity"]: e["value"] for e in message.get("entities")}


def test_emergency_outranks_crisis(safety_patterns):
    message = _process(safety_patterns, "i want to die so i took all my pills")
    assert message.get("intent")["name"] == "medical_emergency"
    assert message.get(SAFETY_NET_KEY)["family"] == "overdose"
    assert "suicidal_explicit" in message.get(SAFETY_NET_KEY)["families"]


def test_component_leaves_ordinary_messages_alone(safety_patterns):
    message = _process(safety_patterns, "why does therapy take so long", "why_hard_takes_time")
    assert message.get("intent")["name"] == "why_hard_takes_time"
    assert message.get(SAFETY_NET_KEY) == {"fired": False}


@pytest.mark.parametrize(
    "data,expected",
    [
        ({}, "families"),
        ({"families": {"x": {"intent": "greet", "phrases": ["a b"]}}}, "intent: crisis"),
        ({"families": {"x": {"intent": "crisis", "phrases": []}}}, "list of phrases"),
        ({"families": {"x": {"intent": "crisis", "phrases": ["..."]}}}, "empty phrase"),
        # A misspelt key would drop what it holds without a word: it is refused, by name.
        (
            {"families": {"x": {"intent": "crisis", "phrases": ["a b"], "not_folowed_by": ["c"]}}},
            "family 'x': unknown key 'not_folowed_by'",
        ),
        (
            {"famlies": {}, "families": {"x": {"intent": "crisis", "phrases": ["a b"]}}},
            "unknown key 'famlies'",
        ),
        (
            {"families": {"x": {"intent": "crisis", "phrases": ["a b"], "not_followed_by": "c"}}},
            "not_followed_by",
        ),
        ({"rewrites": ["kms"], "families": {"x": {"intent": "crisis", "phrases": ["a b"]}}}, "'rewrites'"),
    ],
)
def test_malformed_patterns_give_a_clear_error(spacy_nlp, data, expected):
    with pytest.raises(SafetyPatternsError, match=expected):
        PatternSet(data, spacy_nlp, "patterns.yml")


def test_a_missing_patterns_file_stops_the_model_from_loading():
    with pytest.raises(SafetyPatternsError, match="does not exist"):
        SafetyNet.create({"patterns": "content/no_such_file.yml"}, None, None, None)


@pytest.mark.parametrize("classifier_intent", ["greet", "crisis"])
def test_a_crisis_pattern_the_risk_model_scores_harmless_gets_the_check_in_not_the_full_reply(
    safety_patterns, classifier_intent
):
    text = "my boyfriend choked me last night"
    softened = _process(safety_patterns, text, classifier_intent, stage_risk=0.1, check_below=0.35)
    assert softened.get("intent")["name"] == "crisis_check"
    assert softened.get(SAFETY_NET_KEY)["fired"] is True
    confirmed = _process(
        safety_patterns, text, classifier_intent, stage_risk=0.8, stage_intent="crisis", check_below=0.35
    )
    assert confirmed.get("intent")["name"] == "crisis"


def test_an_emergency_pattern_is_softened_only_below_its_own_lower_limit(safety_patterns):
    text = "i want to die so i took all my pills"
    kept = _process(safety_patterns, text, stage_risk=0.1, check_below=0.35, emergency_check_below=0.05)
    assert kept.get("intent")["name"] == "medical_emergency"
    softened = _process(safety_patterns, text, stage_risk=0.02, check_below=0.35, emergency_check_below=0.05)
    assert softened.get("intent")["name"] == "crisis_check"


@pytest.mark.parametrize("stage_risk", [0.32, 0.6])
def test_a_crisis_pattern_does_not_replace_the_risk_models_emergency_or_check_in(safety_patterns, stage_risk):
    # 0.32: a likely emergency scored between the check-in threshold and check_below.
    text = "i want to kill myself"
    for stage_intent in ("medical_emergency", "crisis_check"):
        message = _process(
            safety_patterns, text, stage_risk=stage_risk, stage_intent=stage_intent, check_below=0.35
        )
        assert message.get("intent")["name"] == stage_intent
        assert message.get(SAFETY_NET_KEY)["fired"] is True


@pytest.mark.parametrize("setting", ["check_below", "emergency_check_below"])
@pytest.mark.parametrize("value", [1.5, -0.1, "0.3", True])
def test_a_softening_limit_outside_0_to_1_stops_with_the_setting_named(setting, value):
    with pytest.raises(SafetyPatternsError, match=setting):
        SafetyNet({"patterns": str(PATTERNS_FILE), setting: value})


def test_a_crisis_pattern_only_in_sentences_told_of_the_past_leaves_a_calm_reading_to_the_risk_stage(
    safety_patterns,
):
    question = "pre_appointment_choosing_therapist"
    past = "I attempted suicide when I was 19. I've been doing well for years."
    deferred = _process(safety_patterns, past, question, stage_risk=0.05, check_below=0.35)
    assert deferred.get("intent")["name"] == question
    assert deferred.get(SAFETY_NET_KEY)["deferred_to"] == "told_as_past"
    # The risk model finding risk, a pattern also in a sentence of now, in another language, or
    # a message of one sentence: the pattern acts as before.
    risky = _process(safety_patterns, past, question, stage_risk=0.4, check_below=0.35)
    assert risky.get("intent")["name"] == "crisis"
    both = "I attempted suicide when I was 19. I attempted suicide again."
    assert _process(safety_patterns, both, question, stage_risk=0.05, check_below=0.35).get("intent")[
        "name"
    ] == ("crisis_check")
    alone = "I attempted suicide when I was 19."
    assert _process(safety_patterns, alone, question, stage_risk=0.05, check_below=0.35).get("intent")[
        "name"
    ] == ("crisis_check")


def test_an_emergency_pattern_only_in_sentences_told_of_the_past_gets_the_check_in_not_silence(
    safety_patterns,
):
    question = "pre_appointment_choosing_therapist"
    past = "I was hospitalized after an overdose back in 2015. I've been stable for years since."
    softened = _process(
        safety_patterns, past, question, stage_risk=0.2, check_below=0.35, emergency_check_below=0.1
    )
    assert softened.get("intent")["name"] == "crisis_check"
    now = "I took an overdose an hour ago. I've been stable for years since."
    told_now = _process(
        safety_patterns, now, question, stage_risk=0.2, check_below=0.35, emergency_check_below=0.1
    )
    assert told_now.get("intent")["name"] == "medical_emergency"
