"""Median time for one message through the trained model (NLU + policy + reply).

Usage: .venv/bin/python scripts/latency.py [ROUNDS]
Uses only replies that need no action server. Prints the median and p95 in ms.
"""
import asyncio
import logging
import statistics
import sys
import time
import uuid

from rasa.core.agent import Agent
from rasa.core.utils import AvailableEndpoints

MESSAGES = [
    "hi", "why does therapy take time?", "I feel stuck", "what is transference",
    "how much does a session cost?", "i want to kill myself", "thanks", "bye",
]


async def main(rounds: int) -> None:
    endpoints = AvailableEndpoints.read_endpoints("endpoints.yml")
    agent = Agent.load("models/threshold.tar.gz", generator=endpoints.nlg)
    logging.disable(logging.CRITICAL)
    for message in MESSAGES:  # warm up
        await agent.handle_text(message, sender_id="warmup")
    timings = []
    for _ in range(rounds):
        sender = uuid.uuid4().hex
        for message in MESSAGES:
            start = time.perf_counter()
            await agent.handle_text(message, sender_id=sender)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"messages: {len(timings)}  median: {statistics.median(timings):.1f} ms  p95: {p95:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 25))
