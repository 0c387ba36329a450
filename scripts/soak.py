"""A bounded soak on loopback: many conversations at once for a fixed time.

Starts the action server and the Rasa server with the production channels
(guarded REST) and an SQLite conversation store in a temporary folder, keeps
--users conversations going for --seconds, samples the server's memory, then
checks that every conversation's stored tracker holds every message that was
sent. Writes results/soak.md and results/soak.json.

Usage: .venv/bin/python scripts/soak.py [--users 50] [--seconds 120]
"""
import argparse
import asyncio
import json
import os
import platform
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bench import Assistant, drive, log, rss_mb  # noqa: E402

TOKEN = "soak-token"


def sample_memory(pid, stop: threading.Event, every: float, samples: list):
    started = time.monotonic()
    while not stop.is_set():
        samples.append((round(time.monotonic() - started, 1), round(rss_mb(pid), 1)))
        stop.wait(every)


def stored_user_messages(database: Path) -> dict:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "select sender_id, count(*) from events where type_name = 'user' and sender_id != 'ready' "
            "group by sender_id").fetchall()
    return dict(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "conversations.db"
        env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": str(ROOT),
               "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore",
               "THRESHOLD_WEBHOOK_TOKEN": TOKEN, "THRESHOLD_DB_NAME": str(database)}
        for name in ("endpoints.yml", "credentials.yml"):
            (Path(tmp) / name).write_text((ROOT / name).read_text())
        assistant = Assistant("threshold", ROOT, ROOT / "models" / "threshold.tar.gz",
                              Path(tmp) / "endpoints.yml", Path(tmp) / "credentials.yml", actions=True,
                              headers={"Authorization": f"Bearer {TOKEN}"})
        log("starting the servers...")
        ready = assistant.start(env)
        samples, stop = [], threading.Event()
        sampler = threading.Thread(target=sample_memory, args=(assistant.server_pid, stop, 5.0, samples))
        sampler.start()
        try:
            log(f"{args.users} conversations for {args.seconds:.0f} s...")
            figures = asyncio.run(drive(assistant.url, args.users, 0, assistant.server_pid,
                                        headers=assistant.headers, seconds=args.seconds))
        finally:
            stop.set()
            sampler.join()
            assistant.stop()
        stored = stored_user_messages(database)
    sent = figures.pop("sent")
    lost = {sender: (count, stored.get(sender, 0)) for sender, count in sent.items()
            if stored.get(sender, 0) != count}
    quarter = max(1, len(samples) // 4)
    summary = {
        "users": args.users, "seconds": args.seconds, "start_to_ready_s": round(ready, 1),
        "messages": figures["messages"], "errors": figures["errors"],
        "throughput": round(figures["throughput"], 1), "p50_ms": round(figures["p50"], 1),
        "p95_ms": round(figures["p95"], 1), "p99_ms": round(figures["p99"], 1),
        "conversations_checked": len(sent), "conversations_with_missing_messages": len(lost),
        "rss_mb_first_quarter_max": max(m for _, m in samples[:quarter]),
        "rss_mb_last_quarter_max": max(m for _, m in samples[-quarter:]),
        "rss_samples": samples,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.json").write_text(json.dumps(summary, indent=2))
    growth = summary["rss_mb_last_quarter_max"] - summary["rss_mb_first_quarter_max"]
    report = "\n".join([
        "# Soak",
        "",
        f"`scripts/soak.py --users {args.users} --seconds {args.seconds:.0f}` on {platform.node()}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Production channels (guarded REST), "
        "SQLite conversation store, action server running.",
        "",
        "| what | result |",
        "| --- | --- |",
        f"| messages sent | {summary['messages']} |",
        f"| errors | {summary['errors']} |",
        f"| throughput | {summary['throughput']} msg/s |",
        f"| latency p50 / p95 / p99 | {summary['p50_ms']} / {summary['p95_ms']} / {summary['p99_ms']} ms |",
        f"| conversations whose stored tracker misses a message | {len(lost)} of {len(sent)} |",
        f"| server RSS, highest in the first and last quarter | {summary['rss_mb_first_quarter_max']} MB, "
        f"{summary['rss_mb_last_quarter_max']} MB ({growth:+.1f} MB) |",
        "",
    ])
    (args.out / "soak.md").write_text(report)
    print(report)
    return 0 if summary["errors"] == 0 and not lost else 1


if __name__ == "__main__":
    sys.exit(main())
