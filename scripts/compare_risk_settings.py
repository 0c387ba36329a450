"""The risk stage and the safety patterns together, without the rest of Rasa, on the
development sets, for several settings: how the settings in config.yml were chosen.

For each setting: risk to the writer caught (a crisis, emergency or check-in reply),
emergencies given the emergency reply, someone else at risk (third-party, crisis or
check-in reply), and on harmless messages the full alarms and the check-ins; the
share of caught crises that get the full crisis reply rather than the check-in.
The components themselves decide (RiskStage.process, then SafetyNet._apply); the
intent classifier is left out, as it cannot raise or lower an alarm.

Development sets only (tests/data/dev/, and every frozen risk set but the newest, each
read since its measurement): the newest frozen set is never used for a choice.

Usage: .venv/bin/python scripts/compare_risk_settings.py [--without FILE.yml ...]
(about 20 minutes: one training of the risk model, on the corpus less the files named with
--without, then a minute or two per setting)
"""

import argparse
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components import risk_model  # noqa: E402
from components.risk_stage import RiskStage, fit_model, training_set  # noqa: E402
from components.safety_net import SafetyNet, load_patterns  # noqa: E402
from components.time_frames import load_time_frames  # noqa: E402

DEV = ROOT / "tests" / "data" / "dev"


# Every frozen risk set but the newest: each was read after its one measurement. The newest
# is never used for choices (it may not be measured yet), so it is left out by rule.
def numbered_frozen_sets(pattern):
    """The frozen sets of a kind, oldest first (the first of a kind has no number)."""
    return sorted(
        (ROOT / "tests" / "data" / "frozen").glob(pattern),
        key=lambda path: int(path.stem.rpartition("_")[2]) if path.stem[-1].isdigit() else 1,
    )


READ_FROZEN = numbered_frozen_sets("risk_test*.yml")[:-1]
CAUGHT = {"crisis", "medical_emergency", "crisis_check"}
FULL = {"crisis", "medical_emergency"}
# (crisis_threshold, check_threshold, emergency_check_below); the first row is config.yml's.
SETTINGS = [
    (None, None, None),
    (0.7, 0.3, 0.0),
    (0.7, 0.3, 0.1),
    (0.7, 0.35, 0.1),
    (0.7, 0.4, 0.1),
    (0.75, 0.3, 0.1),
    (0.8, 0.3, 0.1),
    (0.85, 0.3, 0.1),
]


def component_config(name):
    for item in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]:
        if item["name"].endswith(name):
            return {k: v for k, v in item.items() if k != "name"}
    raise SystemExit(f"config.yml has no {name}")


def development_messages():
    """(expected, text): expected is crisis, medical_emergency, third_party or harmless."""
    found = []
    for path in [DEV / "risk_check.yml", DEV / "risk_check_2.yml"] + READ_FROZEN:
        found += [(m["expect"], m["text"]) for m in yaml.safe_load(path.read_text())["messages"]]
    for family, items in yaml.safe_load((DEV / "crisis_messages.yml").read_text()).items():
        expected = "medical_emergency" if family in ("overdose", "medical_emergency") else "crisis"
        found += [(expected, text) for text in items]
    found += [("harmless", text) for text in yaml.safe_load((DEV / "hard_negatives.yml").read_text())]
    return found


def train(without=()):
    """The risk model as the stage trains it, on the corpus less the files named in `without`."""
    from rasa.shared.nlu.training_data.loading import load_data

    stage_config = dict(RiskStage.get_default_config(), **component_config("RiskStage"))
    examples = [
        e for e in risk_model.load_corpus(ROOT / stage_config["corpus"]) if f"{e.source}.yml" not in without
    ]
    training = training_set(examples, load_data(str(ROOT / "data" / "nlu")))
    embeddings = risk_model.Embedder(threads=2, cache_dir=ROOT / stage_config["embedding_cache"]).embed(
        training.texts
    )
    return fit_model(training, embeddings, stage_config)


def decide(stage, patterns, net_config, text):
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text})
    stage.process([message])
    SafetyNet.apply_patterns(
        message,
        text,
        patterns,
        load_time_frames(ROOT / (net_config.get("time_frames") or "content/time_frames.yml")),
        float(net_config.get("check_below") or 0),
        float(net_config.get("emergency_check_below") or 0),
    )
    return (message.get("intent") or {}).get("name")


def measure(model, patterns, messages, crisis, check, emergency_below):
    stage_config = dict(RiskStage.get_default_config(), **component_config("RiskStage"))
    net_config = component_config("SafetyNet")
    if check is not None:
        stage_config["crisis_threshold"] = crisis
        stage_config["check_threshold"] = check
        net_config["emergency_check_below"] = emergency_below
    stage = RiskStage(stage_config, None, None, model)
    stage._embedder = risk_model.Embedder(threads=2, cache_dir=ROOT / ".cache" / "risk_dev")
    counts = Counter()
    for expected, text in messages:
        count_outcome(counts, expected, decide(stage, patterns, net_config, text))
    return counts


def count_outcome(counts, expected, intent):
    """Adds one risk message's outcome: expected is crisis, medical_emergency, third_party or
    harmless; intent is what the message got."""
    counts[expected] += 1
    if expected == "crisis":
        counts["caught"] += intent in CAUGHT
        counts["full"] += intent in FULL
    elif expected == "medical_emergency":
        counts["emergency"] += intent == "medical_emergency"
    elif expected == "third_party":
        counts["third"] += intent in CAUGHT | {"crisis_third_party"}
    else:
        counts["alarms"] += intent in FULL
        counts["checks"] += intent == "crisis_check"


def main():
    import spacy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--without", nargs="*", default=[], help="corpus files to leave out")
    args = parser.parse_args()
    messages = development_messages()
    patterns = load_patterns(
        ROOT / "content" / "safety_patterns.yml", spacy.load(str(ROOT / ".spacy" / "en_threshold"))
    )
    model = train(set(args.without))
    print(
        "| crisis threshold | check-in threshold | emergency pattern softened below | risk caught | "
        "emergencies | someone else | harmless: full alarms | harmless: check-ins | "
        "caught crises given the full reply |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for crisis, check, emergency_below in SETTINGS:
        c = measure(model, patterns, messages, crisis, check, emergency_below)
        label = ["config.yml", "", ""] if check is None else [crisis, check, emergency_below]
        print(
            f"| {label[0]} | {label[1]} | {label[2]} | "
            f"{c['caught']}/{c['crisis']} = {c['caught'] / c['crisis']:.1%} | "
            f"{c['emergency']}/{c['medical_emergency']} | {c['third']}/{c['third_party']} | "
            f"{c['alarms']}/{c['harmless']} = {c['alarms'] / c['harmless']:.1%} | "
            f"{c['checks']}/{c['harmless']} = {c['checks'] / c['harmless']:.1%} | "
            f"{c['full'] / max(c['caught'], 1):.1%} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
