"""How long the conversation store takes per message: Rasa's SQL store against ours.

Each message is handled the way the server does it: read the conversation, add the
person's message and the reply, save. SQLite in a temporary folder; 10 conversations
of --messages messages each; the median of --runs runs.

Usage: .venv/bin/python scripts/store_bench.py [--messages 20] [--runs 5]
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rasa.core.tracker_store import SQLTrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered  # noqa: E402

from threshold.tracker_store import ClinicSQLTrackerStore  # noqa: E402

RANKING = [{"name": f"intent_{i}", "confidence": 0.01} for i in range(10)]


def take_turn(tracker) -> None:
    parse = {
        "intent": {"name": "why_hard_takes_time", "confidence": 0.9},
        "entities": [],
        "intent_ranking": RANKING,
        "text": "why does therapy take time?",
    }
    tracker.update(UserUttered("why does therapy take time?", parse["intent"], parse_data=parse))
    tracker.update(ActionExecuted("utter_answer_why_hard_takes_time"))
    tracker.update(BotUttered("An answer of about a hundred words. " * 15))
    tracker.update(ActionExecuted("utter_therapist_pointer"))
    tracker.update(BotUttered("A therapist can help you explore this in your own life."))
    tracker.update(ActionExecuted("action_listen"))


async def milliseconds_per_message(make_store, messages: int, conversations: int = 10) -> float:
    store = make_store()
    started = time.perf_counter()
    for number in range(conversations):
        sender = f"person-{number}"
        for _ in range(messages):
            tracker = await store.get_or_create_tracker(sender)
            take_turn(tracker)
            await store.save(tracker)
    return (time.perf_counter() - started) / (messages * conversations) * 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    domain = Domain.load([str(ROOT / "domain.yml"), str(ROOT / "data" / "responses")])
    stores = {
        "Rasa's SQLTrackerStore": lambda db: SQLTrackerStore(domain=domain, dialect="sqlite", db=db),
        "ours, memory off": lambda db: ClinicSQLTrackerStore(
            domain=domain, dialect="sqlite", db=db, recent_conversations=0
        ),
        "ours (endpoints.yml)": lambda db: ClinicSQLTrackerStore(domain=domain, dialect="sqlite", db=db),
    }
    print(f"| store | ms per message ({args.messages}-message conversations, median of {args.runs}) |")
    print("| --- | --- |")
    for name, make in stores.items():
        timings = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                database = str(Path(folder) / "conversations.db")
                timings.append(
                    asyncio.run(
                        milliseconds_per_message(
                            lambda make=make, database=database: make(database), args.messages
                        )
                    )
                )
        print(f"| {name} | {statistics.median(timings):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
