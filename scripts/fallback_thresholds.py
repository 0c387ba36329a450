"""When to ask instead of answering: the FallbackClassifier's thresholds, measured.

On the cross-validation folds of `make eval` (the MeaningIntentClassifier as shipped,
quick model first) and on the development sets, for each threshold: how many messages
get a clarifying question, how many of the answered ones are right, and how many are
"right or offered" (answered right, or asked with the right intent among the buttons:
threshold/clarify_options.py decides the buttons). Development figures: they choose the
setting in config.yml.

Usage: .venv/bin/python scripts/fallback_thresholds.py [--folds 5]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate import SEED, development_sets, load_examples, shipped_settings  # noqa: E402

THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
AMBIGUITY = (0.0, 0.05, 0.1)


def rankings(model, texts, embed, quick_sure):
    from components.intent_classifier import predict

    probabilities = predict(model, texts, embed, quick_sure)
    intents = model.intents
    return [
        [{"name": intents[i], "confidence": float(row[i])} for i in np.argsort(-row)[:10]]
        for row in probabilities
    ]


def outcomes(ranked, truth, options, threshold, ambiguity):
    asked = right = offered = 0
    for ranking, gold in zip(ranked, truth):
        top, second = ranking[0]["confidence"], ranking[1]["confidence"]
        if top < threshold or top - second < ambiguity:
            asked += 1
            offered += gold in options.likely_intents(ranking)
        else:
            right += ranking[0]["name"] == gold
    return asked, right, offered


def main():
    from sklearn.model_selection import StratifiedKFold

    from components.intent_classifier import fit_intent_model
    from components.risk_model import Embedder
    from threshold.clarify_options import load_clarify_options

    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    settings = shipped_settings()
    options = load_clarify_options()
    embed = Embedder(threads=2, cache_dir=ROOT / ".cache" / "embeddings").embed
    examples = load_examples()
    texts = np.array([t for t, _ in examples], dtype=object)
    intents = np.array([i for _, i in examples], dtype=object)

    def fit(train_texts, train_intents):
        return fit_intent_model(
            list(train_texts),
            list(train_intents),
            embed(list(train_texts)),
            c=float(settings["C"]),
            embedding_weight=float(settings["embedding_weight"]),
            seed=SEED,
        )

    quick_sure = float(settings["quick_sure"])
    sets = {"cross-validation": ([], [])}
    for train, test in StratifiedKFold(args.folds, shuffle=True, random_state=SEED).split(texts, intents):
        model = fit(texts[train], intents[train])
        sets["cross-validation"][0].extend(rankings(model, list(texts[test]), embed, quick_sure))
        sets["cross-validation"][1].extend(intents[test])
    model = fit(texts, intents)
    for name, items in development_sets().items():
        sets[name] = (rankings(model, [t for t, _ in items], embed, quick_sure), [i for _, i in items])

    print("| set | threshold | ambiguity | asked | right when answered | right or offered |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (ranked, truth) in sets.items():
        for threshold in THRESHOLDS:
            for ambiguity in AMBIGUITY:
                asked, right, offered = outcomes(ranked, truth, options, threshold, ambiguity)
                answered = len(truth) - asked
                print(
                    f"| {name} | {threshold} | {ambiguity} | "
                    f"{asked}/{len(truth)} = {asked / len(truth):.3f} | "
                    f"{right / max(answered, 1):.3f} | {(right + offered) / len(truth):.3f} |"
                )


if __name__ == "__main__":
    main()
