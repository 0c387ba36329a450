"""`make bench`: speed, memory and cost of the assistant, against the stock Rasa starter bot.

Starts each assistant's servers with its trained model and drives simulated people over
the REST channel: 1, 10 and 50 concurrent conversations with a fixed number of messages
each, from a realistic mix (topics, small talk, an exercise, a crisis). The peer is the
starter bot of `rasa init --no-prompt`, trained in a temporary folder, driven with the
same messages. Reports p50/p95/p99 latency, throughput, errors, server memory (RSS),
start-to-ready time, training time and model size, the median of --runs runs, and the
our/peer ratios. Writes results/bench.md and results/bench.json.

Usage: .venv/bin/python scripts/bench.py [--runs 3] [--users 1 10 50] [--messages 20]
       [--no-peer] [--out results]
"""

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# One person's conversation; each simulated person walks through it in order.
MIX = [
    "hi",
    "why does therapy take time?",
    "I feel stuck",
    "can you give me an exercise?",
    "next",
    "what is transference",
    "how much does a session cost?",
    "thanks",
    "i want to kill myself",
    "yes",
    "how do i know if therapy is working",
    "what happens at the first session?",
    "are you a bot?",
    "help",
    "my boss will kill me if i'm late",
    "how do i book an appointment",
    "i feel so low lately",
    "what does research say about therapy",
    "ok",
    "bye",
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Assistant:
    """One assistant's servers, started from its project folder."""

    def __init__(
        self,
        name,
        folder: Path,
        model: Path,
        endpoints: Path,
        credentials: Path,
        actions=False,
        headers=None,
        launcher=None,
    ):
        self.name, self.folder, self.model = name, folder, model
        # How the Rasa server is started: Threshold's own launcher, or stock `rasa`.
        self.launcher = launcher or [str(BIN / "rasa")]
        self.endpoints, self.credentials, self.actions = endpoints, credentials, actions
        self.headers = headers or {}
        self.processes = []
        self.url = None
        self.server_pid = None

    def start(self, env) -> float:
        started = time.monotonic()
        actions_port = None
        if self.actions:
            port = actions_port = free_port()
            endpoints = self.endpoints.parent / f"endpoints-{port}.yml"
            endpoints.write_text(
                self.endpoints.read_text().replace(
                    "http://localhost:${ACTIONS_PORT}/webhook", f"http://127.0.0.1:{port}/webhook"
                )
            )
            self.processes.append(
                subprocess.Popen(
                    [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port)],
                    cwd=self.folder,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        else:
            endpoints = self.endpoints
        # The action server may not listen yet: free_port() could hand out its port again.
        port = free_port()
        while port == actions_port:
            port = free_port()
        server = subprocess.Popen(
            self.launcher
            + [
                "run",
                "--model",
                str(self.model),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(self.credentials),
                "--port",
                str(port),
                "--interface",
                "127.0.0.1",
            ],
            cwd=self.folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(server)
        self.server_pid = server.pid
        self.url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
        asyncio.run(self._wait_ready(server))
        return time.monotonic() - started

    async def _wait_ready(self, server):
        async with aiohttp.ClientSession(headers=self.headers) as session:
            for _ in range(600):
                if server.poll() is not None:
                    raise RuntimeError(f"{self.name} server exited with {server.returncode}")
                try:
                    async with session.post(self.url, json={"sender": "ready", "message": "hi"}) as r:
                        if r.status == 200 and await r.json():
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.25)
        raise TimeoutError(f"{self.name} was not ready in time")

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes = []


async def drive(url, users, messages, server_pid, headers=None, seconds=None, conversation_length=None):
    """Each simulated person sends `messages` messages (or keeps going for `seconds`).

    With `conversation_length`, a person starts a new conversation (a new sender)
    after that many messages, as visitors to a clinic's site come and go."""
    latencies, errors, peak_rss = [], 0, rss_mb(server_pid)
    by_message = {}

    sent = {}
    deadline = time.perf_counter() + seconds if seconds else None

    async def person(session):
        nonlocal errors
        sender = uuid.uuid4().hex
        sent[sender] = 0
        index = 0
        while (index < messages) if deadline is None else (time.perf_counter() < deadline):
            if conversation_length and index and index % conversation_length == 0:
                sender = uuid.uuid4().hex
                sent[sender] = 0
            text = MIX[index % len(MIX)]
            index += 1
            sent[sender] += 1
            started = time.perf_counter()
            try:
                async with session.post(
                    url, json={"sender": sender, "message": text}, timeout=aiohttp.ClientTimeout(total=60)
                ) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                        continue
            except (aiohttp.ClientError, asyncio.TimeoutError):
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            by_message.setdefault(text, []).append(latencies[-1])

    async def sample_memory():
        nonlocal peak_rss
        while True:
            peak_rss = max(peak_rss, rss_mb(server_pid))
            await asyncio.sleep(0.2)

    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(connector=connector, headers=headers or {}) as session:
        sampler = asyncio.create_task(sample_memory())
        started = time.perf_counter()
        await asyncio.gather(*(person(session) for _ in range(users)))
        elapsed = time.perf_counter() - started
        sampler.cancel()
    return {
        "messages": sum(sent.values()),
        "sent": sent,
        "errors": errors,
        "seconds": elapsed,
        "throughput": len(latencies) / elapsed if elapsed else 0.0,
        "p50": percentile(latencies, 0.50) if latencies else None,
        "p95": percentile(latencies, 0.95) if latencies else None,
        "p99": percentile(latencies, 0.99) if latencies else None,
        "rss_mb": max(peak_rss, rss_mb(server_pid)),
        "by_message": by_message,
    }


def timed(command, cwd, env):
    started = time.monotonic()
    subprocess.run(
        command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.monotonic() - started


def prepare(args, env, workdir: Path):
    """Train both assistants from scratch (their own empty caches) and time it."""
    ours_model = workdir / "ours" / "threshold.tar.gz"
    ours = {"train_s": None}
    if args.train:
        log("training Threshold from scratch...")
        ours["train_s"] = timed(
            [str(BIN / "rasa"), "train", "--out", str(ours_model.parent), "--fixed-model-name", "threshold"],
            ROOT,
            {**env, "RASA_CACHE_DIRECTORY": str(workdir / "cache-ours")},
        )
    else:
        ours_model = ROOT / "models" / "threshold.tar.gz"
    # The configuration is copied now, so edits while the bench runs change nothing. The
    # plain REST channel is used for both assistants: the bench measures the engine.
    config = workdir / "config"
    config.mkdir()
    (config / "endpoints.yml").write_text((ROOT / "endpoints.yml").read_text())
    (config / "credentials.yml").write_text("rest:\n")
    assistants = [
        Assistant(
            "threshold", ROOT, ours_model, config / "endpoints.yml", config / "credentials.yml", actions=True
        )
    ]
    sizes = {"threshold": ours_model.stat().st_size / 1e6}
    trains = {"threshold": ours["train_s"]}
    if not args.no_peer:
        peer_dir = workdir / "starter"
        peer_dir.mkdir()
        log("creating the stock starter bot (rasa init --no-prompt)...")
        subprocess.run(
            [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(peer_dir)],
            cwd=workdir,
            env={**env, "RASA_CACHE_DIRECTORY": str(workdir / "cache-init")},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        log("training the starter bot from scratch...")
        trains["starter"] = timed(
            [str(BIN / "rasa"), "train", "--out", "models", "--fixed-model-name", "starter"],
            peer_dir,
            {**env, "RASA_CACHE_DIRECTORY": str(workdir / "cache-peer")},
        )
        peer_model = peer_dir / "models" / "starter.tar.gz"
        sizes["starter"] = peer_model.stat().st_size / 1e6
        assistants.append(
            Assistant(
                "starter", peer_dir, peer_model, peer_dir / "endpoints.yml", peer_dir / "credentials.yml"
            )
        )
    return assistants, sizes, trains


def median_of(runs, key):
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--users", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--no-peer", action="store_true", help="only measure Threshold")
    parser.add_argument(
        "--no-train",
        dest="train",
        action="store_false",
        help="use models/threshold.tar.gz instead of training from scratch",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONWARNINGS": "ignore",
    }
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        env["THRESHOLD_DB_NAME"] = str(Path(tmp) / "bench-conversations.db")
        assistants, sizes, trains = prepare(args, env, Path(tmp))
        for assistant in assistants:
            results[assistant.name] = {
                "model_mb": sizes[assistant.name],
                "train_s": trains[assistant.name],
                "ready_s": [],
                "load": {u: [] for u in args.users},
            }
            for run in range(1, args.runs + 1):
                log(f"{assistant.name}: run {run}/{args.runs}, starting servers...")
                ready = assistant.start(env)
                results[assistant.name]["ready_s"].append(ready)
                try:
                    for users in args.users:
                        figures = asyncio.run(
                            drive(assistant.url, users, args.messages, assistant.server_pid)
                        )
                        figures.pop("sent")
                        results[assistant.name]["load"][users].append(figures)
                        log(
                            f"  {users:>3} users: {figures['throughput']:.1f} msg/s, p95 "
                            f"{figures['p95']:.1f} ms, errors {figures['errors']}, "
                            f"RSS {figures['rss_mb']:.0f} MB"
                        )
                finally:
                    assistant.stop()
    summary = summarise(results, args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(
        json.dumps({"summary": summary, "raw": results}, indent=2, default=str)
    )
    report = render(summary, args)
    (args.out / "bench.md").write_text(report)
    print(report)
    return 0


def summarise(results, args):
    summary = {}
    for name, data in results.items():
        entry = {
            "model_mb": data["model_mb"],
            "train_s": data["train_s"],
            "ready_s": statistics.median(data["ready_s"]),
            "load": {},
        }
        for users, runs in data["load"].items():
            entry["load"][users] = {
                key: median_of(runs, key) for key in ("throughput", "p50", "p95", "p99", "rss_mb", "errors")
            }
        # Which messages are slow, for the fewest people at once (where nothing waits in line).
        pooled = {}
        for figures in data["load"][min(data["load"])]:
            for text, values in figures.get("by_message", {}).items():
                pooled.setdefault(text, []).extend(values)
        entry["message_p50"] = {text: statistics.median(values) for text, values in pooled.items()}
        summary[name] = entry
    return summary


def render(summary, args):
    def fmt(value, digits=1):
        return "n/a" if value is None else f"{value:.{digits}f}"

    lines = [
        "# Benchmark",
        "",
        f"`make bench` on {platform.node() or 'this machine'}: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.machine()}. Median of {args.runs} run(s); "
        f"{args.messages} messages per simulated person over the REST channel, one server process each.",
        "",
        (
            "| assistant | users | throughput (msg/s) | p50 (ms) | p95 (ms) | p99 (ms) | errors "
            "| server RSS (MB) |"
        ),
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in summary.items():
        for users, figures in entry["load"].items():
            lines.append(
                f"| {name} | {users} | {fmt(figures['throughput'])} | {fmt(figures['p50'])} | "
                f"{fmt(figures['p95'])} | {fmt(figures['p99'])} | {fmt(figures['errors'], 0)} | "
                f"{fmt(figures['rss_mb'], 0)} |"
            )
    lines += [
        "",
        "| assistant | training from scratch (s) | model size (MB) | start to ready (s) |",
        "| --- | --- | --- | --- |",
    ]
    for name, entry in summary.items():
        lines.append(
            f"| {name} | {fmt(entry['train_s'])} | {fmt(entry['model_mb'])} | {fmt(entry['ready_s'])} |"
        )
    if "starter" in summary:
        ours, peer = summary["threshold"], summary["starter"]
        lines += ["", "Ratios, Threshold / starter bot:", ""]
        for users in ours["load"]:
            o, p = ours["load"][users], peer["load"][users]
            lines.append(
                f"- {users} users: throughput x{o['throughput'] / p['throughput']:.2f}, "
                f"p95 latency x{o['p95'] / p['p95']:.2f}, server RSS x{o['rss_mb'] / p['rss_mb']:.2f}"
            )
        if ours["train_s"] and peer["train_s"]:
            lines.append(
                f"- training time x{ours['train_s'] / peer['train_s']:.2f}, "
                f"model size x{ours['model_mb'] / peer['model_mb']:.2f}"
            )
    for name, entry in summary.items():
        slowest = sorted(entry.get("message_p50", {}).items(), key=lambda item: -item[1])[:5]
        if slowest:
            lines += ["", f"Slowest messages for {name}, {min(entry['load'])} user(s) at once (median):", ""]
            lines += [f'- {value:.1f} ms: "{text}"' for text, value in slowest]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
