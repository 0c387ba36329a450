"""Does each featurizer earn its place? Trains NLU-only variants of config.yml
without one featurizer each and compares held-out intent accuracy, on the
held-out messages as written and with typos (the second vowel of every word
longer than four letters dropped).

Usage: .venv/bin/python scripts/featurizer_ablation.py   (about 3 minutes)
"""
import asyncio
import copy
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = yaml.safe_load((ROOT / "tests" / "data" / "dev" / "nlu_messages.yml").read_text())


def with_typos(message: str) -> str:
    words = []
    for word in message.split():
        vowels = [i for i, c in enumerate(word) if c in "aeiou"]
        if len(word) > 4 and len(vowels) > 1:
            word = word[: vowels[1]] + word[vowels[1] + 1:]
        words.append(word)
    return " ".join(words)


def variants(config):
    pipeline = config["pipeline"]
    featurizers = [i for i, c in enumerate(pipeline) if c["name"] == "CountVectorsFeaturizer"]
    yield "all featurizers", config
    for index, label in zip(featurizers, ["without word lemmas", "without char n-grams"]):
        variant = copy.deepcopy(config)
        del variant["pipeline"][index]
        yield label, variant


async def accuracy(model: Path):
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    logging.disable(logging.CRITICAL)
    scores = []
    for transform in (lambda m: m, with_typos):
        total = correct = 0
        for intent, messages in HELDOUT.items():
            for message in messages:
                total += 1
                correct += (await agent.parse_message(transform(message)))["intent"]["name"] == intent
        scores.append(f"{correct}/{total} = {correct / total:.3f}")
    return scores


def main():
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, (label, variant) in enumerate(variants(config)):
            path = Path(tmp) / f"config{number}.yml"
            path.write_text(yaml.safe_dump(variant))
            subprocess.run(
                [str(Path(sys.executable).parent / "rasa"), "train", "nlu", "-c", str(path),
                 "--out", tmp, "--fixed-model-name", f"m{number}"],
                cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            rows.append((label, *asyncio.run(accuracy(Path(tmp) / f"m{number}.tar.gz"))))
            print(f"{label}: held-out {rows[-1][1]}, with typos {rows[-1][2]}", flush=True)
    print("\n| pipeline | held-out accuracy | held-out with typos |\n| --- | --- | --- |")
    for label, clean, typos in rows:
        print(f"| {label} | {clean} | {typos} |")


if __name__ == "__main__":
    main()
