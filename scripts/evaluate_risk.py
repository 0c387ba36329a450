"""The risk model on its own: grouped cross-validation and the sets in tests/data/.

- Cross-validation grouped by warning-sign family (risk_corpus/*.yml, field
  `family`): every family is held out whole, so a family's recall says how well
  the model finds that kind of risk from the other families' examples.
  Compared: n-grams alone (the quick model) and n-grams + the multilingual
  sentence embedding (the full model), and the two-stage decision used at run
  time (components/risk_stage.py).
- The stage's decision, trained on the whole corpus, on the development sets
  (tests/data/dev/) and, with --frozen, on the frozen test set (measure once).

Writes results/risk_eval.md and results/risk_precision_recall.png.
Usage: .venv/bin/python scripts/evaluate_risk.py [--folds 5] [--frozen]
"""

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components import risk_model  # noqa: E402
from components.risk_model import EMERGENCY, LABELS, NONE, SELF_RISK, THIRD_PARTY, WARNING  # noqa: E402

RESULTS = ROOT / "results"
CACHE = ROOT / ".cache" / "embeddings"
DEV_SETS = {
    "risk check set (dev)": ROOT / "tests" / "data" / "dev" / "risk_check.yml",
}
FROZEN_SET = ROOT / "tests" / "data" / "frozen" / "risk_test.yml"
RISK = set(SELF_RISK + EMERGENCY)
# A warning sign is caught by the check-in question (risk_model.concern_of).
CHECKED = RISK | set(WARNING)


def stage_config():
    import yaml as _yaml

    from components.risk_stage import RiskStage

    config = dict(RiskStage.get_default_config())
    for item in _yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]:
        if item["name"].endswith("RiskStage"):
            config.update({k: v for k, v in item.items() if k != "name"})
    return config


def make_stage(model, embedder):
    from components.risk_stage import RiskStage

    stage = RiskStage(stage_config(), None, None, model)
    stage._embedder = embedder
    return stage


def grouped_cv(examples, embeddings, folds: int, balance_languages: bool = False):
    """Out-of-fold probabilities, each fold fitted as the stage fits (with the language balance
    when the stage uses it, counted on the fold's own texts)."""
    from sklearn.model_selection import GroupKFold

    texts = [e.text for e in examples]
    labels = np.array([e.label for e in examples])
    languages = [e.lang for e in examples]
    groups = [f"{e.label}:{e.family}" for e in examples]
    quick = np.zeros((len(texts), len(LABELS)))
    full = np.zeros((len(texts), len(LABELS)))
    for train, test in GroupKFold(n_splits=folds).split(texts, labels, groups):
        weights = None
        if balance_languages:
            weights = risk_model.language_balance([languages[i] for i in train], list(labels[train]))
        model = risk_model.fit([texts[i] for i in train], labels[train], embeddings[train], weights=weights)
        quick[test] = model.quick_probabilities([texts[i] for i in test])
        full[test] = model.full_probabilities([texts[i] for i in test], embeddings[test])
    return quick, full


def two_stage(quick, full, clear_below):
    """What the stage sees: the full model only where the quick one was not sure."""
    combined = quick.copy()
    unsure = quick[:, LABELS.index(NONE)] < 1 - clear_below
    combined[unsure] = full[unsure]
    return combined, unsure


def expected_of(label):
    if label in CHECKED:
        return "risk"
    if label in THIRD_PARTY:
        return "third_party"
    return "harmless"


def cv_report(examples, quick, full, config):
    lines = []
    labels = [e.label for e in examples]
    truth = np.array([expected_of(label) == "risk" for label in labels])
    # Warning signs are caught by the check-in by design, never by the full reply: the
    # crisis-threshold column counts risk in words only.
    in_words = np.array([label in RISK for label in labels])
    combined, unsure = two_stage(quick, full, config["quick_clear_below"])
    lines.append(
        "| model | risk in words: recall at crisis threshold | risk and warning signs: at check threshold "
        "| full alarms on harmless "
        "| checks on harmless |"
    )
    lines.append("| --- | --- | --- | --- | --- |")
    harmless = np.array([label == NONE for label in labels])
    for name, probabilities in (
        ("n-grams only", quick),
        ("n-grams + e5 embedding", full),
        ("two-stage (as served)", combined),
    ):
        risk = risk_model.risk_of(probabilities)
        crisis = risk >= config["crisis_threshold"]
        check = (risk_model.concern_of(probabilities) >= config["check_threshold"]) & ~crisis
        lines.append(
            f"| {name} | {crisis[in_words].mean():.3f} | {(crisis | check)[truth].mean():.3f} | "
            f"{crisis[harmless].mean():.3f} | {check[harmless].mean():.3f} |"
        )
    lines.append("")
    lines.append(f"Share of corpus pieces the quick model sent to the embedding model: {unsure.mean():.3f}")
    lines.append("")
    # How the thresholds were chosen: what each would give, on families the model never saw.
    served = risk_model.concern_of(combined)
    lines.append("Two-stage, by threshold (a risk piece counts as caught at or above it):")
    lines.append("")
    lines.append("| threshold | risk recall | harmless at or above it |")
    lines.append("| --- | --- | --- |")
    for threshold in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8):
        above = served >= threshold
        lines.append(f"| {threshold} | {above[truth].mean():.3f} | {above[harmless].mean():.3f} |")
    lines.append("")
    risk = risk_model.concern_of(combined)
    by_family = defaultdict(list)
    for example, score in zip(examples, risk):
        if example.label in CHECKED:
            by_family[(example.label, example.family)].append(score >= config["check_threshold"])
    worst = sorted(by_family.items(), key=lambda item: np.mean(item[1]))
    lines.append(
        "Recall (crisis or check-in) by held-out warning-sign family, the 25 lowest of "
        f"{len(by_family)} families:"
    )
    lines.append("")
    lines.append("| label | family | examples | recall |")
    lines.append("| --- | --- | --- | --- |")
    for (label, family), hits in worst[:25]:
        lines.append(f"| {label} | {family} | {len(hits)} | {np.mean(hits):.2f} |")
    by_label = defaultdict(list)
    for example, score in zip(examples, risk):
        if example.label in CHECKED:
            by_label[example.label].append(score >= config["check_threshold"])
    lines.append("")
    lines.append("| label | examples | recall (crisis or check-in) |")
    lines.append("| --- | --- | --- |")
    for label, hits in sorted(by_label.items()):
        lines.append(f"| {label} | {len(hits)} | {np.mean(hits):.3f} |")
    return (
        lines,
        truth,
        {
            "n-grams only": risk_model.concern_of(quick),
            "n-grams + e5 embedding": risk_model.concern_of(full),
            "two-stage (as served)": risk,
        },
    )


def plot_precision_recall(truth, scores, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    figure, axis = plt.subplots(figsize=(6, 4.5))
    for name, score in scores.items():
        precision, recall, _ = precision_recall_curve(truth, score)
        axis.plot(recall, precision, label=name)
    axis.set_xlabel("recall (risk to the writer)")
    axis.set_ylabel("precision")
    axis.set_title("Risk model, cross-validation grouped by family")
    axis.legend(loc="lower left")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def load_set(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]


def outcome_of(stage, text):
    """What the server decides (RiskStage.process)."""
    intent, family, _ = stage.decide(stage.assess_in_context(text))
    return intent, family


def set_report(name, messages, stage):
    counts = Counter()
    misses = []
    for message in messages:
        intent, family = outcome_of(stage, message["text"])
        expect = message["expect"]
        counts[(expect, intent)] += 1
        if expect == "crisis" and intent not in ("crisis", "medical_emergency", "crisis_check"):
            misses.append((expect, message.get("family"), message.get("lang"), intent, message["text"]))
        if expect == "medical_emergency" and intent != "medical_emergency":
            misses.append((expect, message.get("family"), message.get("lang"), intent, message["text"]))
        if expect == "third_party" and intent not in (
            "crisis_third_party",
            "crisis",
            "crisis_check",
            "medical_emergency",
        ):
            misses.append((expect, message.get("family"), message.get("lang"), intent, message["text"]))
        if expect == "harmless" and intent in ("crisis", "medical_emergency"):
            misses.append((expect, message.get("family"), message.get("lang"), intent, message["text"]))
    total = Counter(m["expect"] for m in messages)

    def share(expect, intents):
        hit = sum(counts[(expect, i)] for i in intents)
        return f"{hit}/{total[expect]}" + (f" = {hit / total[expect]:.1%}" if total[expect] else "")

    lines = [
        f"### {name}",
        "",
        "- crisis caught (crisis, emergency or check-in): "
        f"{share('crisis', ['crisis', 'medical_emergency', 'crisis_check'])}"
        f" (full crisis reply: {share('crisis', ['crisis', 'medical_emergency'])})",
        f"- medical emergencies: {share('medical_emergency', ['medical_emergency'])}",
        (
            "- someone else at risk (third-party or crisis reply): "
            f"{share('third_party', ['crisis_third_party', 'crisis', 'crisis_check', 'medical_emergency'])}"
        ),
        (
            f"- harmless: full alarms {share('harmless', ['crisis', 'medical_emergency'])}, "
            f"check-ins {share('harmless', ['crisis_check'])}"
        ),
        "",
    ]
    return lines, misses


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--frozen", action="store_true", help="also measure the frozen test set (once, at the end)"
    )
    parser.add_argument("--no-cv", action="store_true")
    args = parser.parse_args()
    from rasa.shared.nlu.training_data.loading import load_data

    from components.risk_stage import TrainingSet, fit_model, training_set

    config = stage_config()
    # Lines that teach the emergency head alone are not the full model's to score; they join
    # the final training below, as in the shipped model.
    whole_corpus = risk_model.load_corpus(ROOT / config["corpus"])
    corpus = [e for e in whole_corpus if not e.head_only]
    head_lines = [e for e in whole_corpus if e.head_only]
    training = training_set(corpus, load_data(str(ROOT / "data" / "nlu")))
    # The NLU examples join as harmless pieces, each its own family.
    nlu_part = slice(len(corpus), None)
    examples = corpus + [
        risk_model.Example(text, label, f"nlu_{i % 20}", language, "nlu")
        for i, (text, label, language) in enumerate(
            zip(training.texts[nlu_part], training.labels[nlu_part], training.languages[nlu_part])
        )
    ]
    embedder = risk_model.Embedder(threads=2, cache_dir=CACHE)
    started = time.time()
    embeddings = embedder.embed([e.text for e in examples])
    lines = [
        "# Risk model evaluation",
        "",
        f"Corpus: {len(examples)} pieces of text ({dict(Counter(e.label for e in examples))}).",
        f"Thresholds (config.yml): crisis {config['crisis_threshold']}, "
        f"check-in {config['check_threshold']}, "
        f"quick model sure below {config['quick_clear_below']}.",
        "",
    ]
    if not args.no_cv:
        quick, full = grouped_cv(examples, embeddings, args.folds, bool(config["balance_languages"]))
        cv_lines, truth, scores = cv_report(examples, quick, full, config)
        lines += ["## Cross-validation grouped by warning-sign family", ""] + cv_lines + [""]
        RESULTS.mkdir(exist_ok=True)
        plot_precision_recall(truth, scores, RESULTS / "risk_precision_recall.png")
        lines += ["![precision and recall](risk_precision_recall.png)", ""]
    trained = examples + head_lines
    if head_lines:
        embeddings = np.vstack([embeddings, embedder.embed([e.text for e in head_lines])])
    model = fit_model(
        TrainingSet(
            [e.text for e in trained],
            [e.label for e in trained],
            [e.emergency for e in trained],
            [e.head_only for e in trained],
            [e.lang for e in trained],
        ),
        embeddings,
        config,
    )
    stage = make_stage(model, risk_model.Embedder(threads=1))
    lines += ["## The risk stage alone (no patterns, no classifier), trained on the whole corpus", ""]
    sets = dict(DEV_SETS)
    if args.frozen:
        sets["frozen test set"] = FROZEN_SET
    all_misses = {}
    for name, path in sets.items():
        set_lines, misses = set_report(name, load_set(path), stage)
        lines += set_lines
        all_misses[name] = misses
    for name, misses in all_misses.items():
        lines += [f"Misses on the {name}:", ""]
        lines += [
            f"- {expect} / {family} / {lang}: got {intent}: {text!r}"
            for expect, family, lang, intent, text in misses
        ]
        lines.append("")
    lines.append(f"Run time: {time.time() - started:.0f} s.")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "risk_eval.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
