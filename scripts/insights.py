"""`make insights`: what people ask, week by week, from the conversation store, with no text.

Writes results/insights/index.html (plots and a table) and results/insights/insights.csv.
Uses the store in endpoints.yml with the same THRESHOLD_DB_* overrides as the server
(threshold/insights.py says what is read and how small counts are hidden).
Usage: .venv/bin/python scripts/insights.py [--endpoints endpoints.yml] [--out results/insights]
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from threshold.insights import report  # noqa: E402
from threshold.tracker_store import store_engine  # noqa: E402


def store_engine_in_memory():
    """An empty store, so that a missing database file is not created by reading it."""
    return sa.create_engine("sqlite://")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=Path, default=ROOT / "endpoints.yml")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "insights")
    args = parser.parse_args(argv)
    from threshold.clinic_profile import load_clinic_profile

    engine = store_engine(args.endpoints, ROOT)
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and not Path(database).exists():
        print(f"No conversations stored yet ({database} does not exist); the report is empty.")
        engine = store_engine_in_memory()
    weeks = report(engine, args.out, load_clinic_profile().template_values().get("clinic_name"))
    print(f"Wrote {args.out / 'index.html'} and {args.out / 'insights.csv'} ({len(weeks)} week(s)).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
