"""A simulated week of conversations in a conversation store, for `make insights` and its test.

Each conversation is stored through the project's own store, event by event as the server
writes them (user messages with their intent, actions, replies with their reply name,
slots), spread over one ISO week plus a few in the next. What was simulated is returned
as counts, so the report can be checked against it. Every user message carries a marker
(MARKER) that must never appear in the report.

Usage: .venv/bin/python scripts/simulate_conversations.py --db /tmp/week.db [--conversations 120]
"""

import argparse
import asyncio
import datetime
import random
import sys
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import (  # noqa: E402
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from threshold.article_topics import article_topics  # noqa: E402
from threshold.insights import week_of  # noqa: E402

MARKER = "private words"
# Monday 16 November 2026, 00:00 UTC: the simulated week is ISO week 2026-W47.
WEEK_START = datetime.datetime(2026, 11, 16, tzinfo=datetime.timezone.utc).timestamp()
CLINIC_QUESTIONS = ["pre_appointment_cost", "pre_appointment_first_session", "pre_appointment_online"]
KINDS = ["article", "clinic", "unsure", "other_language", "exercise", "guide", "crisis"]
GUIDE_QUESTIONS = 5


class Conversation:
    def __init__(self, started: float, counts: Counter) -> None:
        self.sender = uuid.uuid4().hex
        self.clock = started
        self.events: List = []
        self.counts = counts
        self.counts["conversations"] += 1

    def _tick(self) -> float:
        self.clock += 7.0
        return self.clock

    def user(self, intent: Text, text: Text = "") -> None:
        text = text or f"{MARKER} {uuid.uuid4().hex[:6]}"
        self.events.append(ActionExecuted("action_listen", timestamp=self._tick()))
        self.events.append(UserUttered(text, {"name": intent, "confidence": 1.0}, timestamp=self._tick()))
        self.counts["messages"] += 1

    def action(self, name: Text) -> None:
        self.events.append(ActionExecuted(name, timestamp=self._tick()))

    def reply(self, response: Text, action: Text = "") -> None:
        self.action(action or response)
        self.events.append(BotUttered("a reply", metadata={"utter_action": response}, timestamp=self._tick()))

    def slot(self, name: Text, value) -> None:
        self.events.append(SlotSet(name, value, timestamp=self._tick()))

    def new_session(self) -> None:
        """The person comes back after the session expired: Rasa's action_session_start
        stores a new session and copies every earlier slot event into it (the domain
        carries slots over to a new session)."""
        self.clock += 2 * 3600
        earlier = [e for e in self.events if isinstance(e, SlotSet)]
        self.events.append(ActionExecuted("action_session_start", timestamp=self._tick()))
        self.events.append(SessionStarted(timestamp=self._tick()))
        self.events += [SlotSet(e.key, e.value, timestamp=self._tick()) for e in earlier]


def one_conversation(kind: Text, chat: Conversation, rng: random.Random, topics: List[Text]) -> None:
    counts = chat.counts
    if kind == "article":
        for _ in range(rng.randint(1, 3)):
            topic = rng.choice(topics)
            chat.user(topic)
            chat.reply(f"utter_answer_{topic}")
            counts["article_questions"] += 1
            counts[f"topic:{topic}"] += 1
    elif kind == "clinic":
        question = rng.choice(CLINIC_QUESTIONS)
        chat.user(question)
        chat.reply(f"utter_{question}")
        counts["clinic_questions"] += 1
        counts[f"clinic:{question}"] += 1
        if rng.random() < 0.5:
            chat.user("book_appointment", "/book_appointment")
            chat.reply("utter_book_appointment")
            counts.update(["clinic_questions", "clinic:book_appointment", "booking_taps", "booking_replies"])
    elif kind == "unsure":
        chat.user("nlu_fallback")
        asked = rng.random() < 0.6
        chat.reply("utter_clarify" if asked else "utter_fallback", "action_clarify")
        counts["clarifying_questions" if asked else "fallbacks"] += 1
    elif kind == "other_language":
        chat.user("other_language")
        chat.reply("utter_other_language")
        counts["other_language"] += 1
    elif kind == "exercise":
        chat.user("ask_exercise")
        chat.action("action_suggest_exercise")
        chat.events.append(BotUttered("a step", timestamp=chat._tick()))
        chat.slot("exercise_id", "an_exercise")
        chat.slot("exercise_step", 1)
        counts["exercises_started"] += 1
        for step in range(2, rng.randint(2, 4)):
            chat.user("next_step")
            chat.action("action_exercise_step")
            chat.events.append(BotUttered("a step", timestamp=chat._tick()))
            chat.slot("exercise_step", step)
        if rng.random() < 0.3:
            chat.new_session()
        if rng.random() < 0.7:
            chat.user("next_step")
            chat.action("action_exercise_step")
            chat.events.append(BotUttered("the end", timestamp=chat._tick()))
            chat.slot("exercise_id", None)
            chat.slot("exercise_step", None)
            counts["exercises_finished"] += 1
        else:
            chat.user("stop")
            chat.reply("utter_exercise_stopped")
    elif kind == "guide":
        chat.user("prepare_first_session", "/prepare_first_session")
        chat.reply("utter_guide_intro")
        chat.events.append(ActiveLoop("first_session_guide_form", timestamp=chat._tick()))
        counts["guides_started"] += 1
        answered = rng.randint(1, GUIDE_QUESTIONS) if rng.random() < 0.4 else GUIDE_QUESTIONS
        for _ in range(answered):
            chat.user(rng.choice(["feeling_stuck", "distress", "nlu_fallback", "skip_question"]))
            chat.reply("utter_ask_guide_reason", "first_session_guide_form")
        chat.events.append(ActiveLoop(None, timestamp=chat._tick()))
        if answered == GUIDE_QUESTIONS:
            chat.reply(
                rng.choice(["utter_guide_summary", "utter_guide_summary_empty"]), "action_guide_summary"
            )
            counts["guides_finished"] += 1
        else:
            chat.user("stop")
            chat.reply("utter_guide_paused")
    elif kind == "crisis":
        chat.user("crisis")
        chat.reply("utter_crisis")
        counts["crisis_replies"] += 1


async def simulate(store, conversations: int = 120, seed: int = 7) -> Dict[Text, Counter]:
    """Store `conversations` conversations in the simulated week and a tenth as many in the
    next; return what was stored, as counts by ISO week."""
    rng = random.Random(seed)
    topics = sorted(article_topics())
    domain = Domain.load(str(ROOT / "domain.yml"))
    by_week: Dict[Text, Counter] = defaultdict(Counter)
    plan = [(WEEK_START, 7) for _ in range(conversations)]
    plan += [(WEEK_START + 7 * 86400, 3) for _ in range(max(conversations // 10, 1))]
    for start, days in plan:
        # Room for a session restart (two hours later) inside the same week.
        started = start + rng.uniform(0, days * 86400 - 6 * 3600)
        chat = Conversation(started, by_week[week_of(started)])
        one_conversation(rng.choice(KINDS), chat, rng, topics)
        tracker = DialogueStateTracker.from_events(chat.sender, chat.events, slots=domain.slots)
        await store.save(tracker)
    return dict(by_week)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="an SQLite file to fill (created if missing)")
    parser.add_argument("--conversations", type=int, default=120)
    args = parser.parse_args(argv)
    from threshold.tracker_store import ClinicSQLTrackerStore

    store = ClinicSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(args.db))
    weeks = asyncio.run(simulate(store, args.conversations))
    for week, counts in weeks.items():
        print(week, dict(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
