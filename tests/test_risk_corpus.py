"""The risk corpus (risk_corpus/*.yml) is checked like every content file: a misspelt key
is refused by name instead of silently falling back to a default."""

import numpy as np
import pytest
from conftest import PROJECT_ROOT

from components.risk_model import LABELS, CorpusError, language_balance, load_corpus


def test_the_shipped_corpus_loads_with_every_item_labelled():
    examples = load_corpus(PROJECT_ROOT / "risk_corpus")
    assert len(examples) > 1000
    assert {example.label for example in examples} <= set(LABELS)


@pytest.mark.parametrize(
    "item, named",
    [
        ("{text: 'a message', label: none, famliy: idiom}", "famliy"),
        ("{text: 'a message', label: none, langauge: es}", "langauge"),
    ],
)
def test_a_misspelt_item_key_is_refused_by_name(tmp_path, item, named):
    (tmp_path / "corpus.yml").write_text(f"examples:\n  - {item}\n")
    with pytest.raises(CorpusError, match=f"unknown key '{named}'"):
        load_corpus(tmp_path)


def test_a_misspelt_top_level_key_is_refused_by_name(tmp_path):
    (tmp_path / "corpus.yml").write_text("examples:\n  - {text: 'a message', label: none}\nexample: []\n")
    with pytest.raises(CorpusError, match="unknown key 'example'"):
        load_corpus(tmp_path)


def test_an_emergency_mark_that_is_not_true_or_false_is_refused_by_name(tmp_path):
    item = "{text: 'my friend took pills', label: third_party_now, emergency: yes please}"
    (tmp_path / "corpus.yml").write_text(f"examples:\n  - {item}\n")
    with pytest.raises(CorpusError, match="'emergency' must be true or false, got 'yes please'"):
        load_corpus(tmp_path)


@pytest.mark.parametrize("label", ["suicide", "medical_emergency", "none"])
def test_an_emergency_mark_on_anything_but_someone_else_in_danger_now_is_refused(tmp_path, label):
    (tmp_path / "corpus.yml").write_text(
        f"examples:\n  - {{text: 'I took pills', label: {label}, emergency: false}}\n"
    )
    with pytest.raises(CorpusError, match=f"marks only someone else's emergency .*not label '{label}'"):
        load_corpus(tmp_path)


def test_someone_elses_emergency_is_marked_in_the_shipped_corpus():
    examples = load_corpus(PROJECT_ROOT / "risk_corpus")
    marked = [e for e in examples if e.emergency and e.label == "third_party_now"]
    # Enough for the emergency head to learn that someone else's body can be in danger too.
    assert len(marked) >= 30


def test_a_file_that_teaches_an_unknown_model_is_refused_by_name(tmp_path):
    corpus = "teaches: emergency_heads\nexamples:\n  - {text: 'a message', label: none}\n"
    (tmp_path / "corpus.yml").write_text(corpus)
    named = "'teaches' must be one of all_models, emergency_head, got 'emergency_heads'"
    with pytest.raises(CorpusError, match=named):
        load_corpus(tmp_path)


def test_lines_of_a_file_that_teaches_the_emergency_head_are_marked_head_only(tmp_path):
    (tmp_path / "a.yml").write_text("examples:\n  - {text: 'what time do you open', label: none}\n")
    (tmp_path / "b.yml").write_text(
        "teaches: emergency_head\n"
        "examples:\n"
        "  - {text: 'my dad collapsed and is not breathing', label: third_party_now, emergency: true}\n"
    )
    assert [(e.text, e.head_only) for e in load_corpus(tmp_path)] == [
        ("what time do you open", False),
        ("my dad collapsed and is not breathing", True),
    ]


def test_language_balance_brings_a_language_below_the_corpus_odds_exactly_up_to_them():
    languages = ["en"] * 10 + ["es"] * 4 + ["de"] * 3
    labels = ["none"] * 7 + ["suicide"] * 3
    labels += ["none", "none", "suicide", "suicide"] + ["none", "none", "suicide"]
    weights = language_balance(languages, labels)
    harmless = np.array(labels) == "none"
    overall = harmless.sum() / (~harmless).sum()
    spanish = np.array(languages) == "es"
    assert weights[spanish & harmless].sum() / weights[spanish & ~harmless].sum() == pytest.approx(overall)
    # Risky texts always weigh 1; languages at or above the corpus's odds (en 7:3, de 2:1) are left alone.
    assert (weights[~harmless] == 1).all()
    assert (weights[~spanish] == 1).all()


def test_language_balance_counts_only_the_texts_the_models_are_fitted_on():
    languages = ["en", "en", "en", "es", "es", "en"]
    labels = ["none", "none", "suicide", "none", "suicide", "none"]
    everything = language_balance(languages, labels)
    without_last = language_balance(languages, labels, counted=[True] * 5 + [False])
    # Counting the last harmless English text raises the corpus's odds (4:2), so Spanish weighs more.
    assert everything[3] == pytest.approx(2.0)
    assert without_last[3] == pytest.approx(1.5)


def test_language_balance_leaves_a_language_with_no_risky_texts_alone():
    weights = language_balance(["en", "en", "en", "ja"], ["none", "none", "suicide", "none"])
    assert weights[3] == 1
