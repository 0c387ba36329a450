"""The risk stage alone (no patterns, no classifier) on every development risk message.

Fits the risk models as the stage does (components/risk_stage.py, config.yml's settings) on the
corpus, leaving out the corpus files named with --without, and scores the pool: every frozen
risk set already measured (scripts/evaluate_frozen.py; --exclude to leave sets out),
tests/data/dev/risk_check.yml, risk_check_2.yml, crisis_messages.yml and hard_negatives.yml.
All of them have been looked at, so the figures are development figures.

    .venv/bin/python scripts/score_risk_stage_pool.py [--without FILE.yml ...] [--exclude SET.yml ...]

Counting: a crisis is caught by the crisis reply, the emergency reply or the check-in (the
overdose messages of crisis_messages.yml count as crises); an emergency by the emergency reply;
someone else at risk by any safety reply; a harmless message is a full alarm with the crisis or
emergency reply, a check-in with the check-in question.
"""

import argparse
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

FROZEN = ROOT / "tests" / "data" / "frozen"
DEV = ROOT / "tests" / "data" / "dev"
# Embeddings of the pool's pieces, kept apart from the training cache.
POOL_CACHE = ROOT / ".cache" / "pool_embeddings"


def pool(exclude):
    from evaluate_frozen import RISK_SETS

    found = []
    paths = [FROZEN / name for name in RISK_SETS if name not in exclude]
    for path in paths + [DEV / "risk_check.yml", DEV / "risk_check_2.yml"]:
        for message in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]:
            found.append((message["expect"], message["text"], message.get("lang", "en")))
    for family, texts in yaml.safe_load((DEV / "crisis_messages.yml").read_text(encoding="utf-8")).items():
        expect = "medical_emergency" if family == "medical_emergency" else "crisis"
        found += [(expect, text, "en") for text in texts]
    found += [("harmless", text, "en") for text in yaml.safe_load((DEV / "hard_negatives.yml").read_text())]
    return found


def right(expect, intent):
    if expect == "crisis":
        return intent in ("crisis", "crisis_check", "medical_emergency")
    if expect == "medical_emergency":
        return intent == "medical_emergency"
    if expect == "third_party":
        return intent in ("crisis", "crisis_check", "medical_emergency", "crisis_third_party")
    return intent not in ("crisis", "medical_emergency")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--without", nargs="*", default=[], help="corpus files to leave out")
    parser.add_argument("--exclude", nargs="*", default=[], help="frozen sets to leave out of the pool")
    args = parser.parse_args()

    from evaluate_risk import stage_config
    from rasa.shared.nlu.training_data.loading import load_data

    from components import risk_model
    from components.risk_stage import RiskStage, fit_model, training_set

    config = stage_config()
    corpus = [
        e for e in risk_model.load_corpus(ROOT / config["corpus"]) if f"{e.source}.yml" not in args.without
    ]
    training = training_set(corpus, load_data(str(ROOT / "data" / "nlu")))
    embeddings = risk_model.Embedder(threads=2, cache_dir=ROOT / config["embedding_cache"]).embed(
        training.texts
    )
    stage = RiskStage(config, None, None, fit_model(training, embeddings, config))
    stage._embedder = risk_model.Embedder(threads=2, cache_dir=POOL_CACHE)
    counts, other_languages = Counter(), Counter()
    for expect, text, language in pool(set(args.exclude)):
        intent, _, _ = stage.decide(stage.assess_in_context(text))
        ok = right(expect, intent)
        check_in = expect == "harmless" and intent == "crisis_check"
        for counter in (counts, other_languages) if language != "en" else (counts,):
            counter[f"{expect} total"] += 1
            counter[expect] += ok
            counter["check-ins"] += check_in
    stage._embedder.save()
    for name, counter in (("all", counts), ("other languages", other_languages)):
        harmless = counter["harmless total"]
        print(
            f"{name}: crises {counter['crisis']}/{counter['crisis total']}, "
            f"emergencies {counter['medical_emergency']}/{counter['medical_emergency total']}, "
            f"someone else {counter['third_party']}/{counter['third_party total']}, "
            f"harmless: full alarms {harmless - counter['harmless']}/{harmless}, "
            f"check-ins {counter['check-ins']}/{harmless}"
        )


if __name__ == "__main__":
    main()
