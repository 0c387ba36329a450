"""What the intent classifier and the risk stage cost per message, in CPU milliseconds, on one core.

Loads the trained model's MeaningIntentClassifier and RiskStage and runs messages through
them as the server does (the classifier first; the risk stage reuses its embedding): the
benchmark's conversation mix (scripts/bench.py), and the development sets' messages
(questions, harmless and risky). Reports the median and p95 CPU-ms per message, and the
share of messages that went to the embedding model. Appends to results/bench.md.

Usage: .venv/bin/python scripts/bench_stages.py
"""

import os
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def from_model(name):
    import pickle

    with (
        tempfile.TemporaryDirectory() as folder,
        tarfile.open(ROOT / "models" / "threshold.tar.gz") as archive,
    ):
        member = next(m for m in archive.getmembers() if m.name.endswith(name))
        archive.extract(member, folder)
        with open(Path(folder) / member.name, "rb") as handle:
            return pickle.load(handle)


def load_stages():
    import yaml as _yaml
    from evaluate_risk import stage_config

    from components.intent_classifier import MODEL_FILE, MeaningIntentClassifier
    from components.risk_stage import RiskStage

    config = next(
        c
        for c in _yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
        if c["name"].endswith("MeaningIntentClassifier")
    )
    classifier = MeaningIntentClassifier(
        {k: v for k, v in config.items() if k != "name"}, None, None, from_model(MODEL_FILE)
    )
    stage = RiskStage(stage_config(), None, None, from_model("risk_model.pkl"))
    stage.embedder()
    return classifier, stage


def measure(classifier, stage, messages):
    from rasa.shared.nlu.training_data.message import Message

    from components import risk_model

    costs, embedded = {"classifier": [], "both": []}, 0
    for text in messages:
        calls = risk_model.shared_embedder().model_calls
        started = time.process_time()
        classifier.process([Message.build(text=text)])
        middle = time.process_time()
        stage.decide(stage.assess_in_context(text))
        ended = time.process_time()
        costs["classifier"].append((middle - started) * 1000)
        costs["both"].append((ended - started) * 1000)
        embedded += risk_model.shared_embedder().model_calls > calls
    out = {}
    for name, values in costs.items():
        values.sort()
        out[name] = (statistics.median(values), values[int(0.95 * (len(values) - 1))])
    return out, embedded / len(messages)


def main():
    from bench import MIX

    classifier, stage = load_stages()
    dev = ROOT / "tests" / "data" / "dev"
    check = yaml.safe_load((dev / "risk_check.yml").read_text())["messages"]
    questions = yaml.safe_load((dev / "nlu_messages_2.yml").read_text())["messages"]
    sets = {
        "the benchmark's conversation mix": MIX,
        "questions and small talk (development set nlu_messages_2)": [m["text"] for m in questions],
        "harmless development messages": yaml.safe_load((dev / "hard_negatives.yml").read_text())
        + [m["text"] for m in check if m["expect"] == "harmless"],
        "risky development messages": [m["text"] for m in check if m["expect"] != "harmless"],
    }
    measure(classifier, stage, MIX[:3])  # warm up
    lines = [
        "",
        "## The intent classifier's and the risk stage's cost per message",
        "",
        "CPU time (one thread), from `.venv/bin/python scripts/bench_stages.py`: the intent classifier "
        "alone, and the classifier followed by the risk stage (which reuses the classifier's embedding).",
        "",
        "| messages | count | classifier median / p95 CPU-ms | both median / p95 CPU-ms "
        "| share that needed the embedding model |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, messages in sets.items():
        costs, share = measure(classifier, stage, messages)
        lines.append(
            f"| {name} | {len(messages)} | {costs['classifier'][0]:.1f} / {costs['classifier'][1]:.1f} "
            f"| {costs['both'][0]:.1f} / {costs['both'][1]:.1f} | {share:.0%} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "results" / "bench.md"
    out.parent.mkdir(exist_ok=True)
    with open(out, "a") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
