"""Where does a message's time go? Samples the Rasa server with py-spy under load.

Starts the assistant's servers, drives --users simulated people for --seconds while
py-spy records the server process, and reports the share of samples spent in each
part of the pipeline. Writes results/profile.md.
Needs py-spy (`.venv/bin/pip install py-spy==0.4.1`); run as a user allowed to trace.
Usage: .venv/bin/python scripts/profile_server.py [--users 10] [--seconds 20]
"""

import argparse
import asyncio
import collections
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bench import Assistant, drive  # noqa: E402

# Parts of the pipeline, recognised by a piece of the frame's file or function name.
PARTS = [
    ("DIET classifier (TensorFlow)", ("tensorflow", "diet_classifier", "rasa/utils/tensorflow")),
    ("featurizers (CountVectors)", ("count_vectors_featurizer", "sklearn", "scipy")),
    ("spaCy pipeline and tokenizer", ("spacy/", "spacy_tokenizer", "spacy_utils")),
    ("SafetyNet", ("safety_net",)),
    ("LanguageGuard", ("language_guard",)),
    ("RulePolicy and prediction", ("rule_policy", "policies/", "ensemble")),
    ("tracker store", ("tracker_store", "sqlalchemy", "sqlite")),
    ("custom action call", ("actions/action.py", "aiohttp")),
    ("reply generation (NLG)", ("nlg/", "threshold/nlg")),
    ("web server (Sanic)", ("sanic",)),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    pyspy = Path(sys.executable).parent / "py-spy"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "endpoints.yml").write_text((ROOT / "endpoints.yml").read_text())
        (tmp / "credentials.yml").write_text("rest:\n")
        env = {
            **os.environ,
            "RASA_TELEMETRY_ENABLED": "false",
            "PYTHONPATH": str(ROOT),
            "PYTHONWARNINGS": "ignore",
            "THRESHOLD_DB_NAME": str(tmp / "conversations.db"),
        }
        assistant = Assistant(
            "threshold",
            ROOT,
            ROOT / "models" / "threshold.tar.gz",
            tmp / "endpoints.yml",
            tmp / "credentials.yml",
            actions=True,
        )
        assistant.start(env)
        stacks = tmp / "stacks.txt"
        try:
            recorder = subprocess.Popen(
                [
                    str(pyspy),
                    "record",
                    "--pid",
                    str(assistant.server_pid),
                    "--duration",
                    str(int(args.seconds)),
                    "--format",
                    "raw",
                    "--output",
                    str(stacks),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            load = threading.Thread(
                target=lambda: asyncio.run(
                    drive(assistant.url, args.users, 0, assistant.server_pid, seconds=args.seconds)
                )
            )
            load.start()
            load.join()
            recorder.wait(timeout=args.seconds + 60)
        finally:
            assistant.stop()
        counts = collections.Counter()
        total = 0
        for line in stacks.read_text().splitlines():
            stack, _, number = line.rpartition(" ")
            samples = int(number)
            total += samples
            for name, needles in PARTS:
                if any(needle in stack for needle in needles):
                    counts[name] += samples
            if "idle" in stack or "select" in stack.split(";")[-1]:
                counts["waiting (idle event loop)"] += samples
    lines = [
        "# Where the time goes",
        "",
        f"`scripts/profile_server.py --users {args.users} --seconds {args.seconds:.0f}`: py-spy samples of "
        f"the Rasa server under load ({total} samples). A sample counts for every part on its stack, "
        "so shares overlap.",
        "",
        "| part | share of samples |",
        "| --- | --- |",
    ]
    for name, count in counts.most_common():
        lines.append(f"| {name} | {100 * count / max(total, 1):.0f}% |")
    report = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "profile.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
