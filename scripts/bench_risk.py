"""What the risk stage costs per message, in CPU milliseconds, on one core.

Loads the trained model's RiskStage and scores messages as the server does: the
benchmark's conversation mix (scripts/bench.py), and the development sets' messages
(harmless and risky). Reports the median and p95 CPU-ms per message, and the share
of messages whose pieces went to the embedding model. Appends to results/bench.md.

Usage: .venv/bin/python scripts/bench_risk.py
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


def load_stage():
    import pickle

    from components.risk_stage import RiskStage
    from evaluate_risk import stage_config

    with tempfile.TemporaryDirectory() as folder, tarfile.open(ROOT / "models" / "threshold.tar.gz") as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("risk_model.pkl"))
        archive.extract(member, folder)
        with open(Path(folder) / member.name, "rb") as handle:
            model = pickle.load(handle)
    stage = RiskStage(stage_config(), None, None, model)
    stage.embedder()
    return stage


def measure(stage, messages):
    costs, embedded = [], 0
    for message in messages:
        started = time.process_time()
        assessment = stage.assess(message)
        stage.decide(assessment)
        costs.append((time.process_time() - started) * 1000)
        embedded += assessment["embedded"] > 0
    costs.sort()
    return statistics.median(costs), costs[int(0.95 * (len(costs) - 1))], embedded / len(messages)


def main():
    from bench import MIX

    stage = load_stage()
    dev = ROOT / "tests" / "data" / "dev"
    check = yaml.safe_load((dev / "risk_check.yml").read_text())["messages"]
    sets = {
        "the benchmark's conversation mix": MIX,
        "harmless development messages": yaml.safe_load((dev / "hard_negatives.yml").read_text())
        + [m["text"] for m in check if m["expect"] == "harmless"],
        "risky development messages": [m["text"] for m in check if m["expect"] != "harmless"],
    }
    measure(stage, MIX[:3])  # warm up
    lines = ["", "## The risk stage's cost per message", "",
             "CPU time of RiskStage alone (one thread), from `.venv/bin/python scripts/bench_risk.py`.", "",
             "| messages | count | median CPU-ms | p95 CPU-ms | share sent to the embedding model |",
             "| --- | --- | --- | --- | --- |"]
    for name, messages in sets.items():
        median, p95, share = measure(stage, messages)
        lines.append(f"| {name} | {len(messages)} | {median:.1f} | {p95:.1f} | {share:.0%} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "results" / "bench.md"
    out.parent.mkdir(exist_ok=True)
    with open(out, "a") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
