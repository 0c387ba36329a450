"""The intent classifier (components/intent_classifier.py) on its own: its settings, when it
embeds a message, and the embedding shared with the risk stage. Its accuracy through the
trained model is checked in test_nlu_heldout.py and measured by `make eval`."""

import numpy as np
import pytest

from components import intent_classifier, risk_model
from components.intent_classifier import IntentClassifierConfigError, MeaningIntentClassifier

# Two made-up intents whose words do not overlap, so the n-gram model is sure of its own
# training texts and unsure of an unseen one.
TEXTS = [
    "alpha apple ant",
    "alpha avocado arch",
    "apple alpha atom",
    "alpha ant arch",
    "beta banana bee",
    "beta berry bus",
    "banana beta bark",
    "beta bee bus",
]
INTENTS = ["first"] * 4 + ["second"] * 4


def fake_embeddings(texts):
    """A direction per intent word, so that the embedding carries the meaning."""
    return np.array(
        [[1.0, 0.0] if "alpha" in t or "apple" in t else [0.0, 1.0] for t in texts], dtype=np.float32
    )


def fitted():
    return intent_classifier.fit_intent_model(
        TEXTS, INTENTS, fake_embeddings(TEXTS), c=10.0, embedding_weight=2.0, seed=1
    )


class RecordingEmbedder:
    def __init__(self):
        self.asked = []

    def __call__(self, texts):
        self.asked.extend(texts)
        return fake_embeddings(texts)


def test_a_message_the_quick_model_is_sure_of_is_not_embedded():
    model, embed = fitted(), RecordingEmbedder()
    probabilities = intent_classifier.predict(model, ["alpha apple ant"], embed, quick_sure=0.8)
    assert embed.asked == []
    assert model.intents[int(probabilities[0].argmax())] == "first"


def test_only_the_messages_the_quick_model_is_unsure_of_are_embedded():
    model, embed = fitted(), RecordingEmbedder()
    intent_classifier.predict(model, ["alpha apple ant", "zzz qqq"], embed, quick_sure=0.9)
    assert embed.asked == ["zzz qqq"]


def test_quick_sure_of_one_embeds_every_message():
    model, embed = fitted(), RecordingEmbedder()
    intent_classifier.predict(model, TEXTS[:3], embed, quick_sure=1.0)
    assert embed.asked == TEXTS[:3]


def test_probabilities_of_each_message_with_a_known_word_sum_to_one():
    model = fitted()
    probabilities = intent_classifier.predict(
        model, ["alpha", "beta bus", "alpha nothing alike"], fake_embeddings, 0.8
    )
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_a_message_without_any_known_word_gets_no_intent():
    model = fitted()
    probabilities = intent_classifier.predict(model, ["qwrtp zxkv blorf", "alpha"], fake_embeddings, 0.8)
    assert probabilities[0].max() == 0.0
    assert probabilities[1].max() > 0.5


@pytest.mark.parametrize(
    "text", ["¿cuánto cuesta una sesión?", "wie lange dauert eine sitzung", "治疗要多久"]
)
def test_a_message_in_another_language_is_read_by_its_embedding_though_no_word_is_known(text):
    model, embed = fitted(), RecordingEmbedder()
    probabilities = intent_classifier.predict(model, [text], embed, 0.8)
    assert embed.asked == [text]
    assert np.isclose(probabilities[0].sum(), 1.0)


@pytest.mark.parametrize(
    "name, value",
    [
        ("C", 0),
        ("C", "ten"),
        ("embedding_weight", -1),
        ("quick_sure", 1.5),
        ("quick_sure", None),
        ("part_sure", 2),
        ("remark_intents", "greet"),
        ("remark_intents", [1]),
        ("not_learned", "other_language"),
        ("not_learned", [None]),
        ("quick_sure", float("nan")),
        ("C", True),
        ("ranking_length", -1),
        ("ranking_length", "ten"),
    ],
)
def test_a_setting_out_of_range_is_refused_naming_it(name, value):
    config = {**MeaningIntentClassifier.get_default_config(), name: value}
    with pytest.raises(IntentClassifierConfigError, match=f"'{name}'"):
        MeaningIntentClassifier.validate(config)


def test_the_default_settings_are_valid():
    MeaningIntentClassifier.validate(MeaningIntentClassifier.get_default_config())


class CountingModel:
    def __init__(self):
        self.calls = []

    def query(self, texts):
        self.calls.append(list(texts))
        return [[float(len(t)), 1.0] for t in texts]


def test_the_shared_embedder_embeds_a_message_once_for_both_stages():
    embedder = risk_model.Embedder(remember=2, model=CountingModel())
    first = embedder.embed(["how long is a session?"])
    again = embedder.embed(["how long is a session?"])
    assert embedder.model.calls == [["how long is a session?"]] and embedder.model_calls == 1
    assert np.array_equal(first, again)


def test_the_shared_embedder_forgets_beyond_its_memory():
    embedder = risk_model.Embedder(remember=2, model=CountingModel())
    for text in ["one", "two", "three", "one"]:
        embedder.embed([text])
    assert [call[0] for call in embedder.model.calls] == ["one", "two", "three", "one"]


def test_the_intent_classifier_reads_the_whole_message_as_the_risk_stage_does():
    message = "Long day.\n\nWhy does   therapy take so long?"
    assert risk_model.whole_message(message) == risk_model.pieces(message)[0]
    assert risk_model.whole_message("") == ""


GREETINGS = ["hello there", "hi hello", "hey hello there", "hello hi hey"]


def fitted_with_a_remark():
    texts = TEXTS + GREETINGS
    intents = INTENTS + ["greet"] * len(GREETINGS)
    embeddings = np.vstack([fake_embeddings(TEXTS), np.full((len(GREETINGS), 2), 0.5, dtype=np.float32)])
    return intent_classifier.fit_intent_model(
        texts, intents, embeddings, c=10.0, embedding_weight=2.0, seed=1
    )


def answer(model, text, part_sure=0.5):
    def embed(texts):
        return np.vstack(
            [fake_embeddings([t])[0] if any(w in t for w in ("alpha", "beta")) else [0.5, 0.5] for t in texts]
        ).astype(np.float32)

    whole = intent_classifier.predict(model, [text], embed, 0.8)[0]
    part, _ = intent_classifier.question_part(model, text, whole, embed, 0.8, ["greet"], part_sure)
    return model.intents[int((part if part is not None else whole).argmax())], part is not None


def second_question(model, text):
    def embed(texts):
        return np.vstack(
            [fake_embeddings([t])[0] if any(w in t for w in ("alpha", "beta")) else [0.5, 0.5] for t in texts]
        ).astype(np.float32)

    whole = intent_classifier.predict(model, [text], embed, 0.8)[0]
    return intent_classifier.question_part(model, text, whole, embed, 0.8, ["greet"], 0.5)[1]


def test_a_remark_then_a_question_gets_the_answer_to_the_question():
    model = fitted_with_a_remark()
    assert answer(model, "hello there hi hello hey. alpha apple?") == ("first", True)


def test_two_questions_get_the_answer_to_the_first():
    model = fitted_with_a_remark()
    assert answer(model, "beta banana? alpha apple ant arch atom avocado?") == ("second", True)
    assert answer(model, "alpha apple? beta banana bee berry bus bark?") == ("first", True)


def test_the_second_of_two_questions_is_named_for_its_button():
    model = fitted_with_a_remark()
    assert second_question(model, "beta banana? alpha apple ant arch atom avocado?") == "first"
    assert second_question(model, "alpha apple? beta banana bee berry bus bark?") == "second"
    assert second_question(model, "hello there hi hello hey. alpha apple? beta banana bee?") == "second"
    # One question, or the same question twice, has no second.
    assert second_question(model, "hello there hi hello hey. alpha apple?") is None
    assert second_question(model, "alpha apple ant? alpha arch atom?") is None


def test_one_sentence_or_one_question_keeps_the_whole_message_reading():
    model = fitted_with_a_remark()
    assert answer(model, "alpha apple ant?")[1] is False
    assert answer(model, "alpha apple ant. alpha arch atom?")[1] is False


def test_the_fast_probabilities_are_scikit_learns():
    model = fitted()
    texts = ["alpha apple", "beta bus bee", "alpha beta"]
    ngrams = model.ngram_features(texts)
    assert np.allclose(model.probabilities("quick", ngrams), model.quick.predict_proba(ngrams))
    full = model.full_features(ngrams, fake_embeddings(texts))
    assert np.allclose(model.probabilities("full", full), model.full.predict_proba(full))


def test_a_very_long_message_is_read_in_sentences_of_bounded_length():
    model, embed = fitted_with_a_remark(), RecordingEmbedder()
    text = "hello there! " + "zzz " * 5000 + "? " + "qqq " * 5000 + "?"
    whole = intent_classifier.predict(model, [risk_model.whole_message(text)], embed, 0.8)[0]
    intent_classifier.question_part(model, text, whole, embed, 1.0, ["greet"], 0.5)
    assert embed.asked and max(len(t) for t in embed.asked) <= risk_model.MAX_UNIT_CHARS


def test_answers_to_the_safety_questions_are_never_read_as_remarks():
    """After "are you safe right now?", "no. what should i do?" is an answer that the safety
    follow-up reads (components/safety_followup.py), not a remark before a question."""
    import yaml
    from conftest import PROJECT_ROOT

    pipeline = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["pipeline"]
    settings = next(c for c in pipeline if c["name"].endswith("MeaningIntentClassifier"))
    remarks = settings.get("remark_intents", MeaningIntentClassifier.get_default_config()["remark_intents"])
    assert not {"affirm", "deny", "safe_now", "not_safe"} & set(remarks)
    assert not {"affirm", "deny", "safe_now", "not_safe"} & set(
        MeaningIntentClassifier.get_default_config()["remark_intents"]
    )


def test_remark_intents_without_training_examples_are_refused_at_training():
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    config = {
        **MeaningIntentClassifier.get_default_config(),
        "remark_intents": ["greet", "gret"],
        "embedding_cache": None,
    }
    classifier = MeaningIntentClassifier(config, None, None)
    data = TrainingData([Message.build(text=t, intent=i) for t, i in zip(GREETINGS, ["greet"] * 4)])
    with pytest.raises(IntentClassifierConfigError, match="gret"):
        classifier.train(data)


def test_the_examples_of_an_intent_not_learned_are_left_out_of_training(monkeypatch):
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    class Storage:
        def write_to(self, resource):
            import contextlib
            import tempfile
            from pathlib import Path

            return contextlib.contextmanager(lambda: (yield Path(tempfile.mkdtemp())))()

    config = {
        **MeaningIntentClassifier.get_default_config(),
        "remark_intents": ["greet"],
        "not_learned": ["other_language"],
        "embedding_cache": None,
    }
    embedder = risk_model.Embedder
    monkeypatch.setattr(risk_model, "Embedder", lambda **kwargs: embedder(model=CountingModel()))
    classifier = MeaningIntentClassifier(config, Storage(), None)
    examples = [(t, "greet") for t in GREETINGS] + [
        ("see you later", "goodbye"),
        ("bye for now", "goodbye"),
        ("hola, necesito ayuda", "other_language"),
        ("bonjour, j'ai besoin d'aide", "other_language"),
    ]
    classifier.train(TrainingData([Message.build(text=t, intent=i) for t, i in examples]))
    assert sorted(classifier.model.intents) == ["goodbye", "greet"]


def test_the_embedding_cache_is_written_after_a_batch_not_after_every_message(tmp_path, monkeypatch):
    writes = []
    real_dump = risk_model.pickle.dump
    monkeypatch.setattr(risk_model.pickle, "dump", lambda *a, **k: (writes.append(1), real_dump(*a, **k)))
    embedder = risk_model.Embedder(cache_dir=tmp_path, model=CountingModel())
    for number in range(20):
        embedder.embed([f"message {number}"])
    assert writes == []
    embedder.embed([f"training text {number}" for number in range(risk_model.SAVE_AT_ONCE)])
    assert len(writes) == 1
    embedder.embed(["one more message"])
    embedder.save()
    assert len(writes) == 2
    reloaded = risk_model.Embedder(cache_dir=tmp_path, model=CountingModel())
    both = ["message 3", "one more message"]
    assert np.array_equal(reloaded.embed(both), embedder.embed(both))
    assert reloaded.model.calls == []
