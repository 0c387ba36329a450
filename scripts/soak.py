"""A bounded soak on loopback: many conversations at once for a fixed time.

Starts the action server and the Rasa server with the production channels
(guarded REST) and an SQLite conversation store in a temporary folder, keeps
--users conversations going for --seconds, samples the server's memory, then
checks that every conversation's stored tracker holds every message that was
sent. Writes results/soak.md and results/soak.json.

Each simulated person has a conversation of --conversation-length messages, then
a new one starts, so there are always --users conversations going at once
(0 keeps one growing conversation per person).

Then an overload phase: --overload connections send one message each, all at once,
through the same server as `make run` starts it (threshold.rasa_server, with its bounded
queue). It reports how many were answered, refused at once with 503 and Retry-After,
or reset, how long they waited, and checks that every answered message was stored.

Usage: .venv/bin/python scripts/soak.py [--users 50] [--seconds 300] [--conversation-length 20]
       [--overload 1000]
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
import uuid
from collections import Counter
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bench import BIN, MIX, Assistant, drive, log, percentile, rss_mb  # noqa: E402

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
            "group by sender_id"
        ).fetchall()
    return dict(rows)


def fallback_notes(database: Path) -> int:
    """Exercise turns that ended with the static note because an action failed."""
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "select count(*) from events where type_name = 'action' "
            "and action_name = 'utter_exercise_unavailable'"
        ).fetchone()[0]


async def flood(url: str, connections: int, headers: dict) -> dict:
    """`connections` people send one message each, all at the same moment."""
    outcomes, waits, accepted, retry_after = Counter(), {}, set(), set()

    async def one(session, index):
        sender = f"flood-{index}-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        try:
            async with session.post(
                url,
                json={"sender": sender, "message": MIX[index % len(MIX)]},
                timeout=aiohttp.ClientTimeout(total=180),
            ) as response:
                await response.read()
                outcome = str(response.status)
                if response.status == 200:
                    accepted.add(sender)
                if response.status == 503:
                    retry_after.add(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            outcome = type(error).__name__
        outcomes[outcome] += 1
        waits.setdefault(outcome, []).append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(one(session, index) for index in range(connections)))
    return {
        "connections": connections,
        "outcomes": dict(outcomes),
        "accepted": sorted(accepted),
        "retry_after": sorted(str(value) for value in retry_after),
        "drained_s": round(time.perf_counter() - started, 1),
        "wait_ms": {
            outcome: {"p50": round(percentile(values, 0.5)), "max": round(max(values))}
            for outcome, values in waits.items()
        },
    }


def quarter_peaks(values: list) -> list:
    """The highest value in each quarter of a run."""
    size = max(1, len(values) // 4)
    return [max(values[i * size : (i + 1) * size] or values[-1:]) for i in range(3)] + [
        max(values[3 * size :] or values[-1:])
    ]


def plot_memory(samples: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3))
    axes.plot([t for t, _ in samples], [m for _, m in samples])
    axes.set_xlabel("seconds")
    axes.set_ylabel("server RSS (MB)")
    axes.set_ylim(0, max(m for _, m in samples) * 1.2)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--conversation-length", type=int, default=20)
    parser.add_argument(
        "--overload", type=int, default=1000, help="connections in the overload phase (0: no overload phase)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "conversations.db"
        env = {
            **os.environ,
            "RASA_TELEMETRY_ENABLED": "false",
            "PYTHONPATH": str(ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONWARNINGS": "ignore",
            "THRESHOLD_WEBHOOK_TOKEN": TOKEN,
            "THRESHOLD_DB_NAME": str(database),
        }
        for name in ("endpoints.yml", "credentials.yml"):
            (Path(tmp) / name).write_text((ROOT / name).read_text())
        assistant = Assistant(
            "threshold",
            ROOT,
            ROOT / "models" / "threshold.tar.gz",
            Path(tmp) / "endpoints.yml",
            Path(tmp) / "credentials.yml",
            actions=True,
            headers={"Authorization": f"Bearer {TOKEN}"},
            launcher=[str(BIN / "python"), "-m", "threshold.rasa_server"],
        )
        log("starting the servers...")
        ready = assistant.start(env)
        samples, stop = [], threading.Event()
        sampler = threading.Thread(target=sample_memory, args=(assistant.server_pid, stop, 5.0, samples))
        sampler.start()
        try:
            log(f"{args.users} conversations for {args.seconds:.0f} s...")
            figures = asyncio.run(
                drive(
                    assistant.url,
                    args.users,
                    0,
                    assistant.server_pid,
                    headers=assistant.headers,
                    seconds=args.seconds,
                    conversation_length=args.conversation_length,
                )
            )
            overload = None
            if args.overload:
                log(f"overload: {args.overload} connections at once...")
                overload = asyncio.run(flood(assistant.url, args.overload, assistant.headers))
        finally:
            stop.set()
            sampler.join()
            assistant.stop()
        stored = stored_user_messages(database)
        notes = fallback_notes(database)
    sent = figures.pop("sent")
    lost = {
        sender: (count, stored.get(sender, 0))
        for sender, count in sent.items()
        if stored.get(sender, 0) != count
    }
    overload_lost = [s for s in (overload or {}).get("accepted", []) if stored.get(s, 0) != 1]
    quarters = quarter_peaks([m for _, m in samples])
    # Memory levels off when the second half adds little: under 2% of the server's size.
    second_half_growth = round(quarters[3] - quarters[1], 1)
    levels_off = second_half_growth <= 0.02 * quarters[1]
    summary = {
        "users": args.users,
        "seconds": args.seconds,
        "conversation_length": args.conversation_length,
        "start_to_ready_s": round(ready, 1),
        "messages": figures["messages"],
        "errors": figures["errors"],
        "throughput": round(figures["throughput"], 1),
        "p50_ms": round(figures["p50"], 1),
        "p95_ms": round(figures["p95"], 1),
        "p99_ms": round(figures["p99"], 1),
        "conversations_checked": len(sent),
        "conversations_with_missing_messages": len(lost),
        "exercise_fallback_notes": notes,
        "rss_mb_quarter_peaks": quarters,
        "rss_mb_second_half_growth": second_half_growth,
        "memory_levels_off": levels_off,
        "rss_samples": samples,
        "overload": overload
        and {
            **{k: v for k, v in overload.items() if k != "accepted"},
            "answered_but_not_stored": len(overload_lost),
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.json").write_text(json.dumps(summary, indent=2))
    plot_memory(samples, args.out / "soak_memory.png")
    length = (
        f"{args.conversation_length} messages each" if args.conversation_length else "one per person, growing"
    )
    report = "\n".join(
        [
            "# Soak",
            "",
            f"`scripts/soak.py --users {args.users} --seconds {args.seconds:.0f} "
            f"--conversation-length {args.conversation_length}` on {platform.node()}: "
            f"{os.cpu_count()} cores, Python {platform.python_version()}. "
            "Production channels (guarded REST), "
            f"SQLite conversation store, action server running. {args.users} conversations at once "
            f"({length}).",
            "",
            "| what | result |",
            "| --- | --- |",
            f"| messages sent | {summary['messages']} in {len(sent)} conversations |",
            f"| errors | {summary['errors']} |",
            f"| throughput | {summary['throughput']} msg/s |",
            (
                f"| latency p50 / p95 / p99 | {summary['p50_ms']} / {summary['p95_ms']} / "
                f"{summary['p99_ms']} ms |"
            ),
            f"| conversations whose stored tracker misses a message | {len(lost)} of {len(sent)} |",
            f"| exercise turns that fell back to the static note (action server too slow) | {notes} |",
            f"| server RSS, highest in each quarter of the run | {' / '.join(f'{q} MB' for q in quarters)} |",
            f"| RSS growth over the second half | {second_half_growth:+.1f} MB: "
            f"{'levels off' if levels_off else 'still growing'} (limit 2% = {0.02 * quarters[1]:.0f} MB) |",
            "",
            "![server memory during the soak](soak_memory.png)",
            "",
        ]
        + overload_lines(summary["overload"])
    )
    (args.out / "soak.md").write_text(report)
    print(report)
    return 0 if summary["errors"] == 0 and not lost and not overload_lost and levels_off else 1


def overload_lines(overload) -> list:
    if not overload:
        return []
    outcomes = ", ".join(f"{name}: {count}" for name, count in sorted(overload["outcomes"].items()))
    waits = "; ".join(
        f"{name}: p50 {w['p50']} ms, max {w['max']} ms" for name, w in sorted(overload["wait_ms"].items())
    )
    return [
        "## Overload",
        "",
        f"{overload['connections']} connections sent one message each at the same moment, to the server "
        "as `make run` starts it (a bounded queue: beyond THRESHOLD_MAX_QUEUE waiting connections, "
        "503 with Retry-After).",
        "",
        "| what | result |",
        "| --- | --- |",
        f"| outcomes (HTTP status or client error) | {outcomes} |",
        f"| Retry-After on the 503s | {', '.join(overload['retry_after']) or '-'} |",
        f"| wait, by outcome | {waits} |",
        f"| all answered after | {overload['drained_s']} s |",
        f"| answered messages missing from the store | {overload['answered_but_not_stored']} |",
        "",
    ]


if __name__ == "__main__":
    sys.exit(main())
