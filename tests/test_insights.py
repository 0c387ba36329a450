"""`make insights`: a simulated week in the store (SQLite and PostgreSQL), and the report
counts exactly what was simulated, hides small counts and holds no message text."""

import asyncio
import csv
import subprocess
import sys
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa
from conftest import PROJECT_ROOT
from rasa.shared.core.domain import Domain
from scripts_path import load_script

from threshold.insights import HIDDEN, MEASURES, breakdown, count_events, read_events, report, shown
from threshold.tracker_store import ClinicSQLTrackerStore, database_url

simulation = load_script("simulate_conversations")


@pytest.fixture
def empty_database(shared_database):
    """A database of its own: the report reads every conversation in it."""
    if shared_database["dialect"] == "sqlite":
        return shared_database
    return {**shared_database, "db": f"insights_{uuid.uuid4().hex[:8]}", "login_db": shared_database["db"]}


def simulated_store(settings, conversations=120):
    store = ClinicSQLTrackerStore(domain=Domain.empty(), recent_conversations=0, **settings)
    weeks = asyncio.run(simulation.simulate(store, conversations))
    engine = sa.create_engine(database_url(settings, settings["dialect"], settings["db"]))
    return weeks, engine


def test_the_report_counts_exactly_what_was_simulated(empty_database):
    simulated, engine = simulated_store(empty_database)
    counted = count_events(read_events(engine), simulation.article_topics())
    assert list(counted) == sorted(simulated) and len(counted) == 2
    for week, truth in simulated.items():
        assert {m: counted[week].totals[m] for m in MEASURES} == {m: truth[m] for m in MEASURES}, week
        assert {f"topic:{t}": n for t, n in counted[week].topics.items()} == {
            k: n for k, n in truth.items() if k.startswith("topic:")
        }
        assert {f"clinic:{c}": n for c, n in counted[week].clinic.items()} == {
            k: n for k, n in truth.items() if k.startswith("clinic:")
        }
    # The simulation exercises every measure at least once in its main week.
    main_week = max(simulated, key=lambda w: simulated[w]["conversations"])
    assert all(simulated[main_week][m] > 0 for m in MEASURES)


def test_the_report_files_show_the_counts_hide_small_ones_and_hold_no_text(empty_database, tmp_path):
    simulated, engine = simulated_store(empty_database)
    report(engine, tmp_path, "A clinic")
    with open(tmp_path / "insights.csv", encoding="utf-8") as handle:
        cells = {(row["week"], row["measure"]): row["count"] for row in csv.DictReader(handle)}
    for week, truth in simulated.items():
        for measure in MEASURES:
            assert cells[(week, measure)] == shown(truth[measure]), (week, measure)
    assert "<5" in cells.values()  # the short second week has small counts
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<img" in page and "&lt;5" in page
    senders = [row.sender_id for row in read_events(engine)]
    for output in (page, (tmp_path / "insights.csv").read_text(encoding="utf-8")):
        assert simulation.MARKER not in output
        assert not any(sender in output for sender in senders)


def test_small_counts_are_shown_as_less_than_five():
    assert [shown(n) for n in (0, 1, 4, 5, 12)] == ["0", "<5", "<5", "5", "12"]


def test_a_lone_hidden_part_of_a_total_cannot_be_worked_out_by_subtraction():
    parts = Counter({"a": 2, "b": 7, "c": 30})
    cells = breakdown(parts)
    assert cells == {"a": "<5", "b": HIDDEN, "c": "30"}
    # Two small parts already hide each other; nothing else is hidden.
    assert breakdown(Counter({"a": 2, "b": 3, "c": 30})) == {"a": "<5", "b": "<5", "c": "30"}


def test_insights_on_a_store_not_created_yet_writes_an_empty_report_and_creates_no_database(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    missing = tmp_path / "none.db"
    endpoints.write_text(f"tracker_store:\n  type: x\n  dialect: sqlite\n  db: {missing}\n")
    out = tmp_path / "report"
    done = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "scripts" / "insights.py"),
            "--endpoints",
            str(endpoints),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "No conversations stored yet" in done.stdout
    assert not missing.exists()
    assert (out / "insights.csv").read_text().strip() == "week,measure,count"
