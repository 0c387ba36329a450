"""Delete conversations older than N days from the conversation database.

A conversation is deleted, all of it, when its latest event is older than the cut-off,
which is at least one day: a conversation with activity in the last day is never
deleted. Uses the tracker store in endpoints.yml, with the same THRESHOLD_DB_*
overrides as the server; a relative SQLite path is the project's own file, wherever
this runs from (cron). Usage: .venv/bin/python scripts/purge.py --days 30 [--endpoints endpoints.yml]
"""

import argparse
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
MIN_DAYS = 1
sys.path.insert(0, str(ROOT))


from threshold.tracker_store import store_engine  # noqa: E402


def purge(engine: sa.engine.Engine, days: float, now: float = None) -> int:
    """Delete every conversation whose last event is older than `days`; return how many."""
    if days < MIN_DAYS:
        raise ValueError(f"days must be at least {MIN_DAYS}: recent conversations are never purged")
    cutoff = (now or time.time()) - days * 86400
    events = sa.Table("events", sa.MetaData(), autoload_with=engine)
    latest = (
        sa.select(events.c.sender_id)
        .group_by(events.c.sender_id)
        .having(sa.func.max(events.c.timestamp) < cutoff)
    )
    with engine.begin() as connection:
        senders = [row[0] for row in connection.execute(latest)]
        for start in range(0, len(senders), 500):
            connection.execute(events.delete().where(events.c.sender_id.in_(senders[start : start + 500])))
    return len(senders)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, required=True)
    parser.add_argument("--endpoints", type=Path, default=ROOT / "endpoints.yml")
    args = parser.parse_args(argv)
    if args.days < MIN_DAYS:
        parser.error(
            f"--days must be at least {MIN_DAYS}: a conversation with activity in the last day "
            "is never purged"
        )
    engine = store_engine(args.endpoints, ROOT)
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and not Path(database).exists():
        print(f"No conversations stored yet ({database} does not exist).")
        return 0
    if not sa.inspect(engine).has_table("events"):
        print("No conversations stored yet.")
        return 0
    count = purge(engine, args.days)
    print(f"Deleted {count} conversation(s) older than {args.days:g} days.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
