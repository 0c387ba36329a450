"""`make bench-cluster`: what `make cluster` gains over one server process on this machine.

Starts the cluster (scripts/cluster.py: nginx, PostgreSQL, Redis, the action server) with
1 Rasa server process, then with --servers N (default: one per core), and drives simulated
people over the REST channel through nginx for a fixed time at each load (the message mix
and driver of scripts/bench.py). Same store, same lock store, same proxy: only the number
of server processes differs. Reports throughput, p50/p95 latency and errors, the median of
--runs runs, and the ratio. Writes results/cluster_bench.md and results/cluster_bench.json.

Usage: .venv/bin/python scripts/bench_cluster.py [--servers 2] [--users 10 50] [--seconds 20] [--runs 3]
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402
import cluster  # noqa: E402

TOKEN = "bench-cluster-token"


class StartedCluster:
    def __init__(self, servers: int) -> None:
        self.state = Path(tempfile.mkdtemp(prefix="threshold-bench-cluster-"))
        self.state.chmod(0o755)
        self.ports = cluster.free_ports(servers, bench.free_port)
        env = {
            **os.environ,
            **{name: str(port) for name, port in self.ports.items()},
            "CLUSTER_STATE_DIR": str(self.state),
            "THRESHOLD_WEBHOOK_TOKEN": TOKEN,
        }
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "cluster.py"), "--servers", str(servers)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = []
        threading.Thread(target=lambda: self.output.extend(self.process.stdout), daemon=True).start()
        deadline = time.monotonic() + 600
        while not any(line.startswith("Ready:") for line in self.output):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the cluster did not start:\n" + "".join(self.output))
            time.sleep(0.5)
        self.url = f"http://127.0.0.1:{self.ports['RASA_PORT']}/webhooks/rest/webhook"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.state, ignore_errors=True)


def measure(servers: int, users_list, seconds: float):
    started = StartedCluster(servers)
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        # Warm every process up (the first messages load lazily built parts).
        asyncio.run(bench.drive(started.url, 4 * servers, 3, os.getpid(), headers=headers))
        results = {}
        for users in users_list:
            run = asyncio.run(
                bench.drive(started.url, users, 0, os.getpid(), headers=headers, seconds=seconds)
            )
            results[users] = {key: run[key] for key in ("throughput", "p50", "p95", "errors", "messages")}
            bench.log(f"{servers} server(s), {users} users: {results[users]['throughput']:.1f} msg/s")
        return results
    finally:
        started.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--users", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    runs = {1: [], args.servers: []}
    for _ in range(args.runs):
        for servers in runs:
            runs[servers].append(measure(servers, args.users, args.seconds))
    summary = {
        servers: {
            users: {
                key: statistics.median(run[users][key] for run in measured)
                for key in ("throughput", "p50", "p95", "errors")
            }
            for users in args.users
        }
        for servers, measured in runs.items()
    }
    machine = f"{platform.node()}: {os.cpu_count()} cores, {platform.platform()}"
    lines = [
        "# make cluster against one server process",
        "",
        f"Machine: {machine}. Median of {args.runs} runs, {args.seconds:.0f} s of load each,",
        "REST through nginx, PostgreSQL store and Redis lock store in both. Command: "
        f"`.venv/bin/python scripts/bench_cluster.py --servers {args.servers} --runs {args.runs} "
        f"--seconds {args.seconds:g} --users {' '.join(map(str, args.users))}`.",
        "",
        "| users | servers | msg/s | p50 ms | p95 ms | errors | throughput ratio |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for users in args.users:
        one = summary[1][users]["throughput"]
        for servers in runs:
            row = summary[servers][users]
            ratio = f"x{row['throughput'] / one:.2f}" if one else "n/a"
            lines.append(
                f"| {users} | {servers} | {row['throughput']:.1f} | {row['p50']:.1f} | {row['p95']:.1f} | "
                f"{row['errors']:.0f} | {ratio} |"
            )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cluster_bench.md").write_text("\n".join(lines) + "\n")
    (args.out / "cluster_bench.json").write_text(
        json.dumps({"machine": machine, "summary": summary}, indent=2)
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
