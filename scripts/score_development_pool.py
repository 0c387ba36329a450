"""The development messages through the trained model, as a person's message goes: the
intent /model/parse would return, after the classifier, the risk stage and the patterns.

The pool: the development sets (tests/data/dev/) and every frozen set but the newest of
each kind (read since their one measurement), each distinct message once. Risk messages
carry the same expectations as in `scripts/compare_risk_settings.py` (which scores the risk
stage and patterns alone, with repeats); NLU messages are scored by the intent they were
written for. Development figures only: the newest frozen sets are left out by rule.

Usage: .venv/bin/python scripts/score_development_pool.py [MODEL]   (about 8 minutes)
"""

import asyncio
import logging
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import compare_risk_settings  # noqa: E402

from threshold.article_topics import article_topics  # noqa: E402


def nlu_messages():
    """(intent, text) of the development NLU sets and every frozen NLU set but the newest."""
    found = []
    development = sorted((ROOT / "tests" / "data" / "dev").glob("nlu_messages*.yml"))
    read_frozen = compare_risk_settings.numbered_frozen_sets("nlu_test*.yml")[:-1]
    for path in development + read_frozen:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "messages" in data:
            found += [(m["intent"], m["text"]) for m in data["messages"]]
        else:
            found += [(intent, text) for intent, texts in data.items() for text in texts]
    return found


async def score(model_path):
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    agent = Agent.load(str(model_path))
    # Rasa logs every parse at debug level; only the table is wanted here.
    configure_structlog(logging.WARNING)
    logging.disable(logging.WARNING)
    topics = set(article_topics())
    risk = list(dict.fromkeys(compare_risk_settings.development_messages()))
    nlu = list(dict.fromkeys(nlu_messages()))
    counts, right, total = Counter(), Counter(), Counter()
    for expected, text in risk:
        intent = (await agent.parse_message(text))["intent"]["name"]
        compare_risk_settings.count_outcome(counts, expected, intent)
    for expected, text in nlu:
        intent = (await agent.parse_message(text))["intent"]["name"]
        kind = "topics" if expected in topics else "other intents"
        total[kind] += 1
        right[kind] += intent == expected
        total[expected] += 1
        right[expected] += intent == expected
        counts["NLU full alarms"] += intent in compare_risk_settings.FULL
        counts["NLU check-ins"] += intent == "crisis_check"
    rows = [
        ("crises caught", f"{counts['caught']}/{counts['crisis']}"),
        ("emergencies: emergency reply", f"{counts['emergency']}/{counts['medical_emergency']}"),
        ("someone else at risk answered", f"{counts['third']}/{counts['third_party']}"),
        (
            "look-alikes: full alarms / check-ins",
            f"{counts['alarms']} / {counts['checks']} of {counts['harmless']}",
        ),
        ("NLU messages: full alarms / check-ins", f"{counts['NLU full alarms']} / {counts['NLU check-ins']}"),
        ("NLU: topics", f"{right['topics']}/{total['topics']}"),
        ("NLU: other intents", f"{right['other intents']}/{total['other intents']}"),
    ]
    print(f"Development pool through {model_path}\n\n| what | result |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    others = sorted(i for i in total if i not in topics and i not in ("topics", "other intents"))
    print("\nOther intents: " + ", ".join(f"{i} {right[i]}/{total[i]}" for i in others))


if __name__ == "__main__":
    asyncio.run(score(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models" / "threshold.tar.gz"))
