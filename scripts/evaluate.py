"""`make eval`: how well the assistant understands, written to results/.

The intent classifiers compared on the same cross-validation folds of the training
data (data/nlu/) and on the development sets (tests/data/dev/nlu_messages*.yml):
- the shipped pipeline (config.yml: MeaningIntentClassifier, fallback, risk stage,
  safety net), through Rasa; its final intent, and its top guess (fallback ignored);
- DIET, and Rasa's LogisticRegressionClassifier over CountVectorsFeaturizer features, in
  place of MeaningIntentClassifier (the stages after it left out), through Rasa;
- the MeaningIntentClassifier's parts alone (components/intent_classifier.py): word
  and character n-grams, the sentence embedding, both, and both with the quick model
  first (as shipped).
Also crisis recall and false alarms of the shipped pipeline on tests/data/dev/.

Writes results/eval.md, results/confusion_matrix.png (shipped pipeline, cross-validation)
and results/intent_report.csv.
Usage: .venv/bin/python scripts/evaluate.py [--folds 5] [--skip-rasa-variants]
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
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "results"
SEED = 2025
CRISIS_INTENTS = {"crisis", "medical_emergency"}


def load_examples():
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu"))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def train_pipeline(examples, workdir: Path, name: str, config: Path = ROOT / "config.yml") -> Path:
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData([Message.build(text=text, intent=intent) for text, intent in examples])
    nlu_path = workdir / f"{name}.yml"
    RasaYAMLWriter().dump(nlu_path, data)
    return Path(train_nlu(str(config), str(nlu_path), str(workdir), fixed_model_name=name))


# The shipped pipeline with another classifier in place of MeaningIntentClassifier.
VARIANTS = {
    "DIET": [
        {"name": "CountVectorsFeaturizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 3, "max_ngram": 5},
        {
            "name": "DIETClassifier",
            "epochs": 200,
            "random_seed": SEED,
            "entity_recognition": False,
            "number_of_transformer_layers": 0,
            "constrain_similarities": True,
            "embedding_dimension": 50,
            "hidden_layers_sizes": {"text": [512]},
            "drop_rate": 0.4,
        },
    ],
    "Rasa LogisticRegressionClassifier": [
        {"name": "CountVectorsFeaturizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 3, "max_ngram": 5},
        {"name": "LogisticRegressionClassifier", "max_iter": 1000, "random_state": SEED},
    ],
}
SHIPPED_CLASSIFIER = "components.intent_classifier.MeaningIntentClassifier"


def variant_config(classifier: str, workdir: Path) -> Path:
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    pipeline = config["pipeline"]
    at = next(i for i, c in enumerate(pipeline) if c["name"] == SHIPPED_CLASSIFIER)
    # Only the classifier's top guess is compared: the stages after it (language guard, risk
    # stage, safety net) are left out of the variants, which makes them much quicker to train.
    config["pipeline"] = pipeline[:at] + VARIANTS[classifier]
    path = workdir / f"config_{classifier.split()[-1]}.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def shipped_settings():
    """The classifier's settings as it runs them: its defaults, overridden by config.yml."""
    from components.intent_classifier import MeaningIntentClassifier

    config = yaml.safe_load((ROOT / "config.yml").read_text())
    shipped = next(c for c in config["pipeline"] if c["name"] == SHIPPED_CLASSIFIER)
    return {**MeaningIntentClassifier.get_default_config(), **shipped}


def classifier_parts(train_texts, train_intents, test_sets, embed):
    """Predictions of the MeaningIntentClassifier's parts, trained on the given examples."""
    from components.intent_classifier import fit_intent_model, predict

    settings = shipped_settings()
    model = fit_intent_model(
        train_texts,
        train_intents,
        embed(train_texts),
        c=float(settings["C"]),
        embedding_weight=float(settings["embedding_weight"]),
        seed=SEED,
    )
    intents = np.array(model.intents, dtype=object)
    out = {}
    for name, texts in test_sets.items():
        ngrams = model.ngram_features(texts)
        embeddings = embed(texts)
        out[name] = {
            "n-grams only (quick model)": list(intents[model.quick.predict_proba(ngrams).argmax(axis=1)]),
            "n-grams + sentence embedding (full model)": list(
                intents[model.full.predict_proba(model.full_features(ngrams, embeddings)).argmax(axis=1)]
            ),
            "as shipped: quick model, full model when unsure": list(
                intents[predict(model, texts, embed, float(settings["quick_sure"])).argmax(axis=1)]
            ),
        }
    # The embedding alone: its own logistic regression.
    from sklearn.linear_model import LogisticRegression

    alone = LogisticRegression(C=float(settings["C"]), max_iter=2000, random_state=SEED)
    weight = float(settings["embedding_weight"])
    alone.fit((embed(train_texts) - model.embedding_mean) * weight, train_intents)
    for name, texts in test_sets.items():
        out[name]["sentence embedding only"] = list(
            alone.predict((embed(texts) - model.embedding_mean) * weight)
        )
    return out


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
    return [
        next(r["name"] for r in p["intent_ranking"] if r["name"] != "nlu_fallback")
        if p["intent"]["name"] == "nlu_fallback"
        else p["intent"]["name"]
        for p in parses
    ]


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
                ax.text(
                    j,
                    i,
                    matrix[i, j],
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if i == j else "black",
                )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Cross-validation confusion matrix (shipped pipeline)")
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


def development_sets():
    sets = {}
    first = yaml.safe_load((ROOT / "tests" / "data" / "dev" / "nlu_messages.yml").read_text())
    sets["nlu_messages.yml"] = [(m, i) for i, msgs in first.items() for m in msgs]
    second = yaml.safe_load((ROOT / "tests" / "data" / "dev" / "nlu_messages_2.yml").read_text())["messages"]
    sets["nlu_messages_2.yml"] = [(m["text"], m["intent"]) for m in second]
    third = yaml.safe_load((ROOT / "tests" / "data" / "dev" / "nlu_messages_3.yml").read_text())["messages"]
    sets["nlu_messages_3.yml"] = [(m["text"], m["intent"]) for m in third]
    return sets


def main():
    from sklearn.metrics import accuracy_score, classification_report, f1_score
    from sklearn.model_selection import StratifiedKFold

    from components.risk_model import Embedder

    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--skip-rasa-variants",
        action="store_true",
        help="leave out DIET and Rasa's LogisticRegressionClassifier (they take most of the time)",
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    started = time.monotonic()
    embed = Embedder(threads=2, cache_dir=ROOT / ".cache" / "embeddings").embed
    examples = load_examples()
    texts = np.array([t for t, _ in examples], dtype=object)
    intents = np.array([i for _, i in examples], dtype=object)
    dev = development_sets()
    dev_texts = {name: [t for t, _ in items] for name, items in dev.items()}
    variants = [] if args.skip_rasa_variants else list(VARIANTS)
    cv = {}  # model name -> predictions in fold order
    truth = []

    def add(store, name, predictions):
        store.setdefault(name, []).extend(predictions)

    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=SEED)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        configs = {name: variant_config(name, workdir) for name in variants}
        for number, (train, test) in enumerate(folds.split(texts, intents), start=1):
            print(f"fold {number}/{args.folds}: training on {len(train)} examples...", flush=True)
            fold_train = list(zip(texts[train], intents[train]))
            parses = parse_all(train_pipeline(fold_train, workdir, f"fold{number}"), list(texts[test]))
            add(cv, "shipped pipeline (final intent, fallback counts as wrong)", final_intents(parses))
            add(cv, "shipped pipeline's top guess (fallback ignored)", top_intents(parses))
            for name in variants:
                model = train_pipeline(fold_train, workdir, f"fold{number}_{name.split()[-1]}", configs[name])
                add(cv, f"{name} (top guess)", top_intents(parse_all(model, list(texts[test]))))
            for name, predictions in classifier_parts(
                list(texts[train]), list(intents[train]), {"test": list(texts[test])}, embed
            )["test"].items():
                add(cv, name, predictions)
            truth += list(intents[test])
        print("training on all the data for the development sets...", flush=True)
        full = train_pipeline(examples, workdir, "full")
        on_dev = {name: {} for name in dev}
        for name, items in dev_texts.items():
            parses = parse_all(full, items)
            on_dev[name]["shipped pipeline (final intent, fallback counts as wrong)"] = final_intents(parses)
            on_dev[name]["shipped pipeline's top guess (fallback ignored)"] = top_intents(parses)
        for variant in variants:
            model = train_pipeline(examples, workdir, f"full_{variant.split()[-1]}", configs[variant])
            for name, items in dev_texts.items():
                on_dev[name][f"{variant} (top guess)"] = top_intents(parse_all(model, items))
        for name, predictions in classifier_parts(list(texts), list(intents), dev_texts, embed).items():
            on_dev[name].update(predictions)
        shipped_crisis = crisis_figures(lambda msgs: final_intents(parse_all(full, msgs)))

    shipped = "shipped pipeline (final intent, fallback counts as wrong)"
    labels = sorted(set(truth) | set(cv[shipped]))
    confusion_png(labels, truth, cv[shipped], RESULTS / "confusion_matrix.png")
    report = classification_report(
        truth, cv[shipped], labels=sorted(set(truth)), output_dict=True, zero_division=0
    )
    with open(RESULTS / "intent_report.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["intent", "precision", "recall", "f1", "support"])
        for intent in sorted(set(truth)):
            row = report[intent]
            writer.writerow(
                [
                    intent,
                    f"{row['precision']:.3f}",
                    f"{row['recall']:.3f}",
                    f"{row['f1-score']:.3f}",
                    int(row["support"]),
                ]
            )

    def accuracy(name, dev_name=None):
        if dev_name is None:
            return (
                f"{accuracy_score(truth, cv[name]):.3f} "
                f"(F1 {f1_score(truth, cv[name], average='macro', zero_division=0):.3f})"
            )
        gold = [i for _, i in dev[dev_name]]
        return f"{accuracy_score(gold, on_dev[dev_name][name]):.3f}"

    def crisis_line(name, figures):
        caught, total, alarms, negatives, _, _ = figures
        return (
            f"| {name} | {caught}/{total} = {caught / total:.3f} | "
            f"{alarms}/{negatives} = {alarms / negatives:.3f} |"
        )

    weakest = sorted((report[i]["f1-score"], i) for i in set(truth))[:5]
    dev_names = list(dev)
    lines = [
        "# Evaluation report",
        "",
        f"Made by `make eval` ({args.folds}-fold cross-validation, seed {SEED}) on "
        f"{len(examples)} training examples in {len(set(intents))} intents; "
        f"{time.monotonic() - started:.0f} s. Development sets: "
        + ", ".join(f"{name} ({len(items)} messages)" for name, items in dev.items())
        + ".",
        "",
        "## Intent classifiers side by side",
        "",
        "Accuracy (macro F1 in cross-validation). All are development figures; the frozen set is",
        "measured by `make eval-frozen`.",
        "",
        "| classifier | cross-validation | " + " | ".join(dev_names) + " |",
        "| --- | --- | " + " | ".join("---" for _ in dev_names) + " |",
    ]
    lines += [
        f"| {name} | {accuracy(name)} | " + " | ".join(accuracy(name, d) for d in dev_names) + " |"
        for name in cv
    ]
    lines += [
        "",
        "The shipped pipeline's final intent includes the fallback (a message it is unsure of",
        "counts as wrong here, though the person is then asked which topic they meant), the",
        "risk stage and the SafetyNet. Per-intent precision, recall and F1 of the shipped",
        "pipeline in cross-validation: `intent_report.csv`; confusion matrix: `confusion_matrix.png`.",
        "",
        "Weakest intents in cross-validation (F1): "
        + ", ".join(f"{intent} {score:.2f}" for score, intent in weakest)
        + ".",
        "",
        "## Crisis messages (tests/data/dev/crisis_messages.yml, hard_negatives.yml)",
        "",
        "| model | crisis recall | false alarms on hard negatives |",
        "| --- | --- | --- |",
        crisis_line("shipped pipeline, trained here", shipped_crisis),
        "",
        "Missed: " + (", ".join(repr(m) for m in shipped_crisis[4]) or "none") + ".",
        "False alarms: " + (", ".join(repr(m) for m in shipped_crisis[5]) or "none") + ".",
        "This model is trained here from the same data and seed as `make train`, but with the",
        "examples in another order, so it is a second draw of the classifier: the test suite",
        "checks the model that `make train` builds.",
        "",
    ]
    (RESULTS / "eval.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
