"""The topic arbiter: when a check-in on a short question about therapy gives way to the topic."""

import numpy as np
import pytest
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components import risk_model
from components.risk_stage import RiskStage, arbiter_examples
from components.safety_net import SafetyNet
from components.topic_arbiter import SAFETY_INTENT_OF, SAFETY_INTENTS, fit_arbiter
from threshold.article_topics import article_topics

TOPIC = article_topics()[0]
OTHER_TOPIC = article_topics()[1]
QUESTION = "I think I might be ready to stop. How do I bring that up with my therapist?"


class FixedArbiter:
    """Reads every text the same way."""

    def __init__(self, intent, safety):
        self.answer = {"intent": intent, "safety": safety}
        self.read = []

    def reading(self, embedding):
        self.read.append(embedding)
        return dict(self.answer)


class ReadingsInTurn(FixedArbiter):
    """The whole message's reading first, then the riskiest piece's."""

    def __init__(self, *answers):
        self.answers, self.read = list(answers), []

    def reading(self, embedding):
        self.read.append(embedding)
        intent, safety = self.answers[len(self.read) - 1]
        return {"intent": intent, "safety": safety}


class ZeroEmbedder:
    def embed(self, texts):
        return np.zeros((len(texts), 384), dtype=np.float32)


def stage_with(arbiter, **config):
    settings = {**RiskStage.get_default_config(), "topic_safety_below": 0.2, **config}
    stage = RiskStage(settings, None, None, model=None, arbiter=arbiter)
    stage._embedder = ZeroEmbedder()
    return stage


def classified(text, intent=TOPIC, confidence=0.9):
    message = Message.build(text=text)
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}])
    return message


def assessment_of(text, language="en", riskiest=1):
    pieces = risk_model.pieces(text)
    risk = np.zeros(len(pieces))
    risk[min(riskiest, len(pieces) - 1)] = 0.4
    return {"pieces": pieces, "language": language, "risk": risk, "concern": risk.copy()}


def give_way(stage, text=QUESTION, intent="crisis_check", family="suicide", message=None, **assessment):
    return stage.topic_instead(
        message or classified(text), text, assessment_of(text, **assessment), intent, family
    )


def test_a_check_in_on_a_short_topic_question_gives_way_when_the_arbiter_reads_the_topic():
    stage = stage_with(FixedArbiter(TOPIC, 0.05))
    assert give_way(stage) == {
        "topic": TOPIC,
        "safety": 0.05,
        "piece_safety": 0.05,
        "instead_of": "crisis_check",
    }
    assert give_way(stage, intent="crisis_third_party", family="third_party")["topic"] == TOPIC


@pytest.mark.parametrize(
    "intent, family",
    [
        ("crisis", "suicide"),
        ("medical_emergency", "medical_emergency"),
        ("crisis_third_party", "third_party_now"),
    ],
)
def test_the_full_crisis_and_emergency_replies_and_danger_now_never_give_way(intent, family):
    assert give_way(stage_with(FixedArbiter(TOPIC, 0.0)), intent=intent, family=family) is None


def test_the_check_in_stays_when_the_arbiter_reads_risk_or_another_intent():
    for arbiter in (FixedArbiter(TOPIC, 0.2), FixedArbiter(TOPIC, 0.9), FixedArbiter(OTHER_TOPIC, 0.0)):
        assert give_way(stage_with(arbiter)) is None


def test_the_check_in_stays_when_the_sentence_that_raised_it_reads_as_risk_alone():
    stage = stage_with(ReadingsInTurn((TOPIC, 0.05), (TOPIC, 0.9)), topic_piece_safety_below=0.8)
    assert give_way(stage) is None
    assert len(stage.arbiter.read) == 2
    assert give_way(stage_with(ReadingsInTurn((TOPIC, 0.05), (TOPIC, 0.5)), topic_piece_safety_below=0.8))
    # When the whole message raised the check-in, it is read once.
    assert give_way(stage_with(ReadingsInTurn((TOPIC, 0.05)), topic_piece_safety_below=0.8), riskiest=0)


def test_the_check_in_stays_on_long_messages_other_languages_and_unsure_or_non_topic_guesses():
    stage = stage_with(FixedArbiter(TOPIC, 0.0), topic_max_sentences=2, topic_sure=0.5)
    assert give_way(stage, "Therapy is fine. I want to stop. How do I tell her?") is None
    assert give_way(stage, "how do i tell my therapist " + "i want to stop and nothing matters " * 30) is None
    assert give_way(stage, language="es") is None
    assert give_way(stage, language=None) is None  # too short to tell
    assert give_way(stage, message=classified(QUESTION, confidence=0.49)) is None
    assert give_way(stage, message=classified(QUESTION, intent="book_appointment")) is None
    assert stage.arbiter.read == []  # none of them was even read a second time


def test_without_a_threshold_or_an_arbiter_nothing_gives_way():
    assert give_way(stage_with(FixedArbiter(TOPIC, 0.0), topic_safety_below=0.0)) is None
    assert give_way(stage_with(None)) is None


def test_a_failing_arbiter_leaves_the_check_in_standing():
    class Broken(FixedArbiter):
        def reading(self, embedding):
            raise RuntimeError("broken")

    assert give_way(stage_with(Broken(TOPIC, 0.0))) is None


def test_a_message_that_gives_way_keeps_the_classifiers_topic_and_says_so(monkeypatch):
    stage = stage_with(FixedArbiter(TOPIC, 0.01))
    monkeypatch.setattr(stage, "assess_in_context", lambda text: {**assessment_of(text), "embedded": 1})
    monkeypatch.setattr(stage, "decide", lambda assessment: ("crisis_check", "suicide", 0.4))
    message = classified(QUESTION)
    stage.process([message])
    assert message.get("intent")["name"] == TOPIC
    assert message.get("risk_stage")["intent"] is None
    assert message.get("risk_stage")["topic_instead"]["topic"] == TOPIC
    # Without the arbiter's agreement the same message gets the check-in.
    stage.arbiter = FixedArbiter(TOPIC, 0.5)
    message = classified(QUESTION)
    stage.process([message])
    assert message.get("intent")["name"] == "crisis_check"
    assert message.get("risk_stage")["topic_instead"] is None


def test_a_safety_pattern_brings_back_the_check_in_a_topic_was_given_instead_of(safety_patterns):
    net = SafetyNet({**SafetyNet.get_default_config(), "check_below": 0.35, "emergency_check_below": 0.1})
    net._patterns = safety_patterns
    text = "I want to kill myself. How do I tell my therapist I want to stop?"
    message = classified(text)
    given_way = {"topic": TOPIC, "safety": 0.1, "piece_safety": 0.1, "instead_of": "crisis_check"}
    message.set("risk_stage", {"intent": None, "risk": 0.5, "language": "en", "topic_instead": given_way})
    net.process([message], SpacyModel(model=safety_patterns.nlp, model_name="test"))
    assert message.get("intent")["name"] == "crisis_check"
    assert message.get("risk_stage")["topic_instead"] is None
    assert message.get("safety_net")["fired"] is True


@pytest.mark.parametrize(
    "setting, value",
    [
        ("topic_sure", 1.5),
        ("topic_sure", float("nan")),
        ("topic_safety_below", -0.1),
        ("topic_safety_below", 0.6),
        ("topic_safety_below", float("nan")),
        ("topic_piece_safety_below", "0.8"),
        ("topic_max_sentences", 0),
        ("topic_max_sentences", 2.5),
    ],
)
def test_a_wrong_arbiter_setting_stops_the_start_with_the_field_named(setting, value):
    with pytest.raises(ValueError, match=setting):
        RiskStage({**RiskStage.get_default_config(), setting: value}, None, None)


def test_the_arbiter_learns_every_nlu_intent_and_the_corpus_risk_lines_under_safety_intents():
    data = TrainingData(
        [
            Message.build(text="when is therapy over", intent=TOPIC),
            Message.build(text="hello", intent="greet"),
        ]
    )
    corpus = [
        risk_model.Example("i want to die", "suicide", "f", "en", "a.yml"),
        risk_model.Example("this commute is killing me", "none", "f", "en", "a.yml"),
        risk_model.Example("my friend took pills", "third_party_now", "f", "en", "a.yml"),
    ]
    pairs = arbiter_examples(corpus, data)
    assert ("when is therapy over", TOPIC) in pairs and ("hello", "greet") in pairs
    assert ("i want to die", SAFETY_INTENT_OF["suicide"]) in pairs
    assert ("my friend took pills", SAFETY_INTENT_OF["third_party_now"]) in pairs
    assert all(text != "this commute is killing me" for text, _ in pairs)  # harmless lines left out
    assert set(SAFETY_INTENT_OF.values()) <= SAFETY_INTENTS


def test_the_arbiters_reading_gives_the_first_intent_and_the_safety_share():
    rng = np.random.default_rng(0)
    topic_side, risk_side = np.eye(384)[0], np.eye(384)[1]
    embeddings = np.vstack(
        [topic_side + rng.normal(0, 0.05, (20, 384)), risk_side + rng.normal(0, 0.05, (20, 384))]
    )
    pairs = [("t", TOPIC)] * 20 + [("r", "crisis")] * 20
    arbiter = fit_arbiter(pairs, embeddings, seed=1)
    topic_reading, risk_reading = arbiter.reading(topic_side), arbiter.reading(risk_side)
    assert topic_reading["intent"] == TOPIC and topic_reading["safety"] < 0.2
    assert risk_reading["intent"] == "crisis" and risk_reading["safety"] > 0.8
