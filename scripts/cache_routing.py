"""How often a server process can use its cached copy of a conversation, by how messages are
routed to the processes of `make cluster`.

Each process is a ClinicSQLTrackerStore of its own on one shared database (SQLite here; the
check is the same on PostgreSQL). Conversations of a few messages each are played turn by
turn, the turns of different conversations interleaved as people type at once; each turn is
read, given a user message and a reply, and saved by the process the routing picks:
- round robin: the next process for every request, whoever sends it (nginx's default, and what
  the REST webhook gets, since nginx does not read its body);
- one process per conversation: a conversation's messages always reach the same process (what
  a widget's websocket gets, since it stays on the process it reached).
A turn uses the cache when the store does not read the conversation from the database again.

Usage: .venv/bin/python scripts/cache_routing.py [--processes 2 4] [--conversations 200] [--turns 6]
"""

import argparse
import asyncio
import random
import sys
import tempfile
import uuid
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rasa.core.tracker_store import SQLTrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from threshold.tracker_store import ClinicSQLTrackerStore  # noqa: E402


class CountingStore(ClinicSQLTrackerStore):
    """Counts the reads that go to the database instead of the cached copy."""

    database_reads = 0

    async def retrieve(self, sender_id):
        original = SQLTrackerStore.retrieve

        async def counted(store, sender):
            CountingStore.database_reads += 1
            return await original(store, sender)

        SQLTrackerStore.retrieve = counted
        try:
            return await super().retrieve(sender_id)
        finally:
            SQLTrackerStore.retrieve = original


async def play(processes: int, sticky: bool, conversations: int, turns: int, seed: int = 7) -> float:
    database = Path(tempfile.mkdtemp()) / "conversations.db"
    domain = Domain.empty()
    stores = [CountingStore(domain=domain, dialect="sqlite", db=str(database)) for _ in range(processes)]
    rng = random.Random(seed)
    senders = [uuid.uuid4().hex for _ in range(conversations)]
    # Every conversation's turns, interleaved at random, each conversation's in order.
    queue = [sender for sender in senders for _ in range(turns)]
    rng.shuffle(queue)
    CountingStore.database_reads = 0
    first_turns, next_process = set(), 0
    for sender in queue:
        if sticky:
            store = stores[zlib.crc32(sender.encode()) % processes]
        else:
            store = stores[next_process % processes]
            next_process += 1
        tracker = await store.retrieve(sender)
        if tracker is None:
            first_turns.add(sender)
            tracker = DialogueStateTracker.from_events(sender, [ActionExecuted("action_listen")])
        tracker.update(UserUttered("a message", {"name": "greet", "confidence": 1.0}))
        tracker.update(ActionExecuted("utter_greet"))
        tracker.update(BotUttered("a reply"))
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)
    # A conversation's first turn has nothing to use, cached or not.
    later_turns = len(queue) - len(first_turns)
    cached = later_turns - (CountingStore.database_reads - len(first_turns))
    return cached / later_turns


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--turns", type=int, default=6)
    args = parser.parse_args(argv)
    print("| processes | routing | turns that used the cached copy |")
    print("| --- | --- | --- |")
    for processes in args.processes:
        for sticky, name in ((False, "round robin"), (True, "one process per conversation")):
            share = asyncio.run(play(processes, sticky, args.conversations, args.turns))
            print(f"| {processes} | {name} | {share:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
