"""A tiny run of the benchmark script (the full `make bench` stays out of `make test`)."""

import json
import re

from scripts_path import load_script

bench = load_script("bench")


def test_percentile_picks_from_the_sorted_values():
    values = list(range(1, 101))
    assert bench.percentile(values, 0.5) in (50, 51)
    assert bench.percentile(values, 0.99) == 99
    assert bench.percentile([7], 0.95) == 7


def test_ratios_are_rendered_against_the_peer():
    summary = {
        "threshold": {
            "model_mb": 17.0,
            "train_s": 60.0,
            "ready_s": 10.0,
            "load": {
                10: {"throughput": 90.0, "p50": 5.0, "p95": 20.0, "p99": 30.0, "rss_mb": 500.0, "errors": 0}
            },
        },
        "starter": {
            "model_mb": 25.0,
            "train_s": 120.0,
            "ready_s": 12.0,
            "load": {
                10: {"throughput": 30.0, "p50": 20.0, "p95": 40.0, "p99": 60.0, "rss_mb": 600.0, "errors": 0}
            },
        },
    }
    report = bench.render(summary, type("Args", (), {"runs": 3, "messages": 20})())
    assert "10 users: throughput x3.00, p95 latency x0.50, server RSS x0.83" in report
    assert "training time x0.50" in report


def test_a_tiny_run_measures_the_real_servers(tmp_path):
    assert (
        bench.main(
            [
                "--runs",
                "1",
                "--users",
                "1",
                "2",
                "--messages",
                "3",
                "--no-peer",
                "--no-train",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    data = json.loads((tmp_path / "bench.json").read_text())
    load = data["summary"]["threshold"]["load"]
    assert set(load) == {"1", "2"}
    assert load["2"]["errors"] == 0 and load["2"]["throughput"] > 0
    assert data["summary"]["threshold"]["ready_s"] > 0
    report = (tmp_path / "bench.md").read_text()
    assert "| threshold | 2 |" in report
    # The slowest messages for one person, from the mix that was sent.
    slowest = re.findall(r'- ([0-9.]+) ms: "(.+)"', report.split("Slowest messages for threshold")[1])
    assert slowest and all(text in bench.MIX[:3] for _, text in slowest)
    assert [float(ms) for ms, _ in slowest] == sorted((float(ms) for ms, _ in slowest), reverse=True)
