"""`make eval`: how well the assistant understands, written to results/.

- Cross-validation of the NLU pipeline (config.yml, including the fallback and
  the SafetyNet) on the training data, and on the same folds a baseline:
  TF-IDF (words and character n-grams) + logistic regression from scikit-learn.
- Both, trained on all the data, on the held-out file tests/data/dev/nlu_messages.yml.
- Crisis recall and false alarms on tests/data/, for the full pipeline and the baseline.

Writes results/eval.md, results/confusion_matrix.png and results/intent_report.csv.
Usage: .venv/bin/python scripts/evaluate.py [--folds 5]
"""
import argparse
import asyncio
import csv
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
SEED = 2025
CRISIS_INTENTS = {"crisis", "medical_emergency"}


def load_examples():
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu"))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def baseline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
    )
    return make_pipeline(features, LogisticRegression(C=10, max_iter=3000, random_state=SEED))


def train_pipeline(examples, workdir: Path, name: str) -> Path:
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData([Message.build(text=text, intent=intent) for text, intent in examples])
    nlu_path = workdir / f"{name}.yml"
    RasaYAMLWriter().dump(nlu_path, data)
    return Path(train_nlu(str(ROOT / "config.yml"), str(nlu_path), str(workdir), fixed_model_name=name))


def parse_all(model_path: Path, texts):
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    logging.disable(logging.CRITICAL)

    async def run():
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(run())


def final_intents(parses):
    return [p["intent"]["name"] for p in parses]


def top_intents(parses):
    """The classifier's best guess, ignoring the fallback's abstention."""
    return [next(r["name"] for r in p["intent_ranking"] if r["name"] != "nlu_fallback")
            if p["intent"]["name"] == "nlu_fallback" else p["intent"]["name"] for p in parses]


def confusion_png(labels, truth, predicted, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(truth, predicted, labels=labels)
    fig, ax = plt.subplots(figsize=(14, 12))
    ax.imshow(np.log1p(matrix), cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=6,
                        color="white" if i == j else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Cross-validation confusion matrix (DIET pipeline)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def crisis_figures(predict):
    crisis = yaml.safe_load((ROOT / "tests" / "data" / "dev" / "crisis_messages.yml").read_text())
    negatives = yaml.safe_load((ROOT / "tests" / "data" / "dev" / "hard_negatives.yml").read_text())
    messages = [m for family in crisis.values() for m in family]
    missed = [m for m, p in zip(messages, predict(messages)) if p not in CRISIS_INTENTS]
    alarms = [m for m, p in zip(negatives, predict(negatives)) if p in CRISIS_INTENTS]
    return len(messages) - len(missed), len(messages), len(alarms), len(negatives), missed, alarms


def main():
    from sklearn.metrics import accuracy_score, classification_report, f1_score
    from sklearn.model_selection import StratifiedKFold

    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    started = time.monotonic()
    examples = load_examples()
    texts = np.array([t for t, _ in examples], dtype=object)
    intents = np.array([i for _, i in examples], dtype=object)
    truth, diet_pred, diet_top, base_pred = [], [], [], []
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=SEED)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for number, (train, test) in enumerate(folds.split(texts, intents), start=1):
            print(f"fold {number}/{args.folds}: training on {len(train)} examples...", flush=True)
            model = train_pipeline(list(zip(texts[train], intents[train])), workdir, f"fold{number}")
            parses = parse_all(model, list(texts[test]))
            diet_pred += final_intents(parses)
            diet_top += top_intents(parses)
            base_pred += list(baseline().fit(texts[train], intents[train]).predict(texts[test]))
            truth += list(intents[test])
        print("training on all the data for the held-out file...", flush=True)
        full = train_pipeline(examples, workdir, "full")
        heldout = yaml.safe_load((ROOT / "tests" / "data" / "dev" / "nlu_messages.yml").read_text())
        held_texts = [m for msgs in heldout.values() for m in msgs]
        held_truth = [i for i, msgs in heldout.items() for _ in msgs]
        held_parses = parse_all(full, held_texts)
        held_diet, held_top = final_intents(held_parses), top_intents(held_parses)
        base_all = baseline().fit(texts, intents)
        held_base = list(base_all.predict(held_texts))
        diet_crisis = crisis_figures(lambda msgs: final_intents(parse_all(full, msgs)))
        base_crisis = crisis_figures(lambda msgs: list(base_all.predict(msgs)))

    labels = sorted(set(truth) | set(diet_pred))
    confusion_png(labels, truth, diet_pred, RESULTS / "confusion_matrix.png")
    report = classification_report(truth, diet_pred, labels=sorted(set(truth)), output_dict=True, zero_division=0)
    with open(RESULTS / "intent_report.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["intent", "precision", "recall", "f1", "support"])
        for intent in sorted(set(truth)):
            row = report[intent]
            writer.writerow([intent, f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                             f"{row['f1-score']:.3f}", int(row["support"])])

    def line(name, truth_, pred):
        return (f"| {name} | {accuracy_score(truth_, pred):.3f} | "
                f"{f1_score(truth_, pred, average='macro', zero_division=0):.3f} |")

    def crisis_line(name, figures):
        caught, total, alarms, negatives, _, _ = figures
        return (f"| {name} | {caught}/{total} = {caught / total:.3f} | "
                f"{alarms}/{negatives} = {alarms / negatives:.3f} |")

    weakest = sorted(((report[i]["f1-score"], i) for i in set(truth)))[:5]
    lines = [
        "# Evaluation report",
        "",
        f"Made by `make eval` ({args.folds}-fold cross-validation, seed {SEED}) on "
        f"{len(examples)} training examples in {len(set(intents))} intents; "
        f"{time.monotonic() - started:.0f} s.",
        "",
        "## Intent classification",
        "",
        "| model | accuracy | macro F1 |",
        "| --- | --- | --- |",
        line("DIET pipeline, cross-validation", truth, diet_pred),
        line("DIET's top intent (fallback ignored), cross-validation", truth, diet_top),
        line("TF-IDF + logistic regression, same folds", truth, base_pred),
        line("DIET pipeline, held-out file", held_truth, held_diet),
        line("DIET's top intent (fallback ignored), held-out file", held_truth, held_top),
        line("TF-IDF + logistic regression, held-out file", held_truth, held_base),
        "",
        "The DIET pipeline's figures include the fallback (a message it is unsure of counts as wrong)",
        "and the SafetyNet. Per-intent precision, recall and F1: `intent_report.csv`;",
        "confusion matrix: `confusion_matrix.png`.",
        "",
        "Weakest intents in cross-validation (F1): "
        + ", ".join(f"{intent} {score:.2f}" for score, intent in weakest) + ".",
        "",
        "## Crisis messages",
        "",
        "| model | crisis recall | false alarms on hard negatives |",
        "| --- | --- | --- |",
        crisis_line("full pipeline (SafetyNet + DIET)", diet_crisis),
        crisis_line("TF-IDF + logistic regression alone", base_crisis),
        "",
        "Missed by the full pipeline: " + (", ".join(repr(m) for m in diet_crisis[4]) or "none") + ".",
        "False alarms of the full pipeline: " + (", ".join(repr(m) for m in diet_crisis[5]) or "none") + ".",
        "This model is trained here from the same data and seed as `make train`, but with the",
        "examples in another order, so it is a second draw of the classifier: the test suite",
        "checks the model that `make train` builds.",
        "",
    ]
    (RESULTS / "eval.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
