"""`make eval-frozen`: the frozen test sets, through the trained model as a person meets it.

The frozen sets (tests/data/frozen/) were written independently and are never used to
choose patterns, data, thresholds or settings. Measure them once, when a change is
finished, and report what comes out, misses included.

- Risk (risk_test*.yml): a crisis message counts as caught when its first reply is the
  crisis reply, the emergency reply or the check-in question, with the crisis line
  (the emergency number for an emergency); a medical emergency needs the emergency
  reply; someone else at risk needs the third-party reply (or a crisis reply); a
  harmless message counts its full alarms and check-ins.
- NLU (nlu_test_*.yml): the intent the model returns (/model/parse), per intent, strict and
  "right or offered" (a clarifying question whose buttons include the right intent).

Writes results/frozen.md. Usage: .venv/bin/python scripts/evaluate_frozen.py
"""

import asyncio
import logging
import os
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("ACTIONS_PORT", "5055")

from threshold.article_topics import article_topics  # noqa: E402

FROZEN = ROOT / "tests" / "data" / "frozen"
RESULTS = ROOT / "results"
CAUGHT = {"utter_crisis", "utter_medical_emergency", "utter_crisis_check"}
ALARMS = {"utter_crisis", "utter_medical_emergency"}
CHECK_INTENT = "crisis_check"


def measured_once(written, model, detail=""):
    """The note of a set written and committed at `written` before it was measured, then measured
    once on the model of `model` (with `detail` on that model, if any)."""
    where = f"{detail}; docs/measurements.md" if detail else "docs/measurements.md"
    return (
        f"Written and committed ({written}) before it was measured; never used to choose anything. "
        f"Measured once, on the model of {model} ({where}); read after that, it is a development set."
    )


# The NLU sets, newest first, with the same rule as the risk sets.
NLU_SETS = {
    "nlu_test_23.yml": measured_once("32679bd", "7bfc3de"),
    "nlu_test_22.yml": measured_once("662278e", "1c6c1dd"),
    "nlu_test_21.yml": measured_once("aa629cc", "b8be365"),
    "nlu_test_20.yml": measured_once("b6e057e", "87ddc47"),
    "nlu_test_19.yml": measured_once("f0eb4c2", "6044861"),
    "nlu_test_18.yml": measured_once("4814726", "6044861"),
    "nlu_test_17.yml": measured_once("cd0d260", "e3879f4"),
    "nlu_test_16.yml": measured_once("80e3b99", "f73bc60"),
    "nlu_test_15.yml": measured_once("1899768", "50ca113"),
    "nlu_test_14.yml": measured_once("d6a0713", "ff189ce", "the code of ee976c6"),
    "nlu_test_13.yml": measured_once("23a7e32", "eba7386", "with the topic arbiter, taken out after it"),
    "nlu_test_12.yml": measured_once("6c14e85", "37bf017"),
    "nlu_test_11.yml": measured_once("8297fe6", "80974e3"),
    "nlu_test_10.yml": measured_once("3eaf856", "d8bd126"),
    "nlu_test_9.yml": measured_once("c37db90", "71be7c6"),
    "nlu_test_8.yml": measured_once("8b174ad", "a963a84"),
    "nlu_test_7.yml": measured_once("429293c, three messages added in 8582728", "7c46714"),
    "nlu_test_6.yml": measured_once("6136034", "f47785e"),
    "nlu_test_5.yml": measured_once("66fd9f8", "d94d2d0"),
    "nlu_test_4.yml": "Written and committed (60b83bc) before the changes it measures. Measured first on "
    "the model of 2a5a3cb (docs/measurements.md); its misses were read since, so figures on it after that "
    "are development figures.",
    "nlu_test_3.yml": "Written and committed (472ef36) before the changes it measures. Measured first "
    "on the model of 6998d15 (docs/measurements.md); its misses were read since, so figures on it after "
    "that are development figures.",
}
NEWEST_NLU_SET = next(iter(NLU_SETS))
TOPICS = article_topics()


def load_agent():
    from rasa.core.agent import Agent
    from rasa.core.utils import AvailableEndpoints

    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    agent = Agent.load(str(ROOT / "models" / "threshold.tar.gz"), generator=endpoints.nlg)
    from rasa.utils.log_utils import configure_structlog

    # Rasa logs every parse at debug level: a hundred thousand lines that slow the run.
    configure_structlog(logging.WARNING)
    logging.getLogger("rasa").setLevel(logging.WARNING)
    return agent


async def first_reply(agent, text):
    sender = uuid.uuid4().hex
    await agent.handle_text(text, sender_id=sender)
    tracker = await agent.tracker_store.retrieve(sender)
    for event in tracker.events:
        if event.type_name == "bot":
            return (event.metadata or {}).get("utter_action"), event.text or ""
    return None, ""


# The risk sets, newest first. A set's figures count as unseen only on its first
# measurement; after its misses have been read, it says so.
RISK_SETS = {
    "risk_test_27.yml": measured_once("32679bd", "7bfc3de"),
    "risk_test_26.yml": measured_once("662278e", "1c6c1dd"),
    "risk_test_25.yml": measured_once("a32750c", "56a3faa"),
    "risk_test_24.yml": measured_once("44064fb", "f3d0737"),
    "risk_test_23.yml": measured_once("aa629cc", "b8be365"),
    "risk_test_22.yml": measured_once("b6e057e", "87ddc47"),
    "risk_test_21.yml": measured_once("f0eb4c2", "6044861"),
    "risk_test_20.yml": measured_once("4814726", "6044861"),
    "risk_test_19.yml": measured_once("cd0d260", "e3879f4"),
    "risk_test_18.yml": measured_once("80e3b99", "f73bc60"),
    "risk_test_17.yml": measured_once("f78a65c", "50ca113"),
    "risk_test_16.yml": measured_once("c682c00", "130230a", "with the emergency head"),
    "risk_test_15.yml": measured_once("d6a0713", "ff189ce", "the code of ee976c6"),
    "risk_test_14.yml": measured_once("23a7e32", "eba7386", "with the topic arbiter, taken out after it"),
    "risk_test_13.yml": measured_once("6c14e85", "37bf017"),
    "risk_test_12.yml": measured_once("8297fe6", "80974e3"),
    "risk_test_11.yml": measured_once("3eaf856", "d8bd126"),
    "risk_test_10.yml": measured_once("c37db90", "71be7c6"),
    "risk_test_9.yml": measured_once("8b174ad", "a963a84"),
    "risk_test_8.yml": measured_once("429293c", "7c46714"),
    "risk_test_7.yml": measured_once("6136034", "f47785e"),
    "risk_test_6.yml": measured_once("66fd9f8", "d94d2d0"),
    "risk_test_5.yml": "Written and committed (60b83bc) before the changes it measures. Measured first on "
    "the model of 2a5a3cb (docs/measurements.md); its misses were read since, so figures on it after that "
    "are development figures.",
    "risk_test_4.yml": "Written and committed (472ef36) before the changes it measures. Measured first "
    "on the model of 6998d15 (docs/measurements.md); its misses were read since, so figures on it after "
    "that are development figures.",
    "risk_test_3.yml": "Measured first at commit 418f54c (docs/measurements.md); its misses were read "
    "since, and settings changed after that, so figures on it now are development figures.",
    "risk_test_2.yml": "Measured first on the model of commit 0d8e0a9 (docs/measurements.md); its misses "
    "were read since, so figures on it after that are development figures.",
    "risk_test.yml": "Measured first at commit b5a8566 (docs/measurements.md); its misses were read "
    "since, so figures on it after that are development figures.",
}


async def risk_report(agent, contacts, name, note):
    messages = yaml.safe_load((FROZEN / name).read_text())["messages"]
    counts, totals, misses = Counter(), Counter(), []
    by_lang = defaultdict(lambda: [0, 0])
    for message in messages:
        expect = message["expect"]
        action, text = await first_reply(agent, message["text"])
        line_ok = contacts["crisis_line"] in text or contacts["crisis_line_es"] in text
        totals[expect] += 1
        if expect == "crisis":
            ok = action in CAUGHT and line_ok
            counts["crisis caught"] += ok
            counts["crisis full reply"] += ok and action in ALARMS
            by_lang[message.get("lang", "en")][0] += ok
            by_lang[message.get("lang", "en")][1] += 1
        elif expect == "medical_emergency":
            ok = action == "utter_medical_emergency" and contacts["emergency_number"] in text
            counts["emergencies"] += ok
        elif expect == "third_party":
            ok = action in CAUGHT | {"utter_crisis_third_party"} and line_ok
            counts["third party"] += ok
        else:
            counts["harmless alarms"] += action in ALARMS
            counts["harmless check-ins"] += action == "utter_crisis_check"
            ok = action not in ALARMS
        if not ok or (expect == "harmless" and action == "utter_crisis_check"):
            misses.append((expect, message.get("family"), message.get("lang"), action, message["text"]))

    def share(count, total):
        return f"{count}/{total} = {count / total:.1%}" if total else "0/0"

    lines = (
        [f"## Risk (tests/data/frozen/{name})", ""]
        + ([note, ""] if note else [])
        + [
            "| what | result |",
            "| --- | --- |",
            (
                "| crisis caught (crisis, emergency or check-in reply, with the crisis line) | "
                f"{share(counts['crisis caught'], totals['crisis'])} |"
            ),
            f"| of which the full crisis reply | {share(counts['crisis full reply'], totals['crisis'])} |",
            (
                "| medical emergencies (emergency reply with the emergency number) | "
                f"{share(counts['emergencies'], totals['medical_emergency'])} |"
            ),
            (
                "| someone else at risk (third-party or crisis reply, with the crisis line) | "
                f"{share(counts['third party'], totals['third_party'])} |"
            ),
            (
                "| harmless: full crisis or emergency reply | "
                f"{share(counts['harmless alarms'], totals['harmless'])} |"
            ),
            f"| harmless: check-in question | {share(counts['harmless check-ins'], totals['harmless'])} |",
            "",
            "Crisis caught by language: "
            + ", ".join(f"{lang} {hit}/{total}" for lang, (hit, total) in sorted(by_lang.items())),
            "",
            "Every miss (expected / family / language: what it got):",
            "",
        ]
    )
    lines += [f"- {e} / {f} / {lang}: {a}: {t!r}" for e, f, lang, a, t in misses]
    return lines + [""]


async def nlu_report(agent, name, note):
    """Strict accuracy, and "right or offered": the right intent, or a clarifying question
    (nlu_fallback) whose buttons include it (threshold/clarify_options.py decides the buttons)."""
    from rasa.shared.core.events import UserUttered

    from threshold.clarify_options import FALLBACK_INTENT, load_clarify_options

    options = load_clarify_options()
    messages = yaml.safe_load((FROZEN / name).read_text())["messages"]
    right, offered, answered, total = Counter(), Counter(), Counter(), Counter()
    wrong = []
    for message in messages:
        parse = await agent.parse_message(message["text"])
        got, expect = parse["intent"]["name"], message["intent"]
        total[expect] += 1
        right[expect] += got == expect
        # A check-in that also answers the question (threshold/nlg.py) answers it too.
        held = agent.nlg.held_question(UserUttered(message["text"], parse["intent"], parse_data=parse))
        after_check = got == CHECK_INTENT and held in (f"utter_answer_{expect}", f"utter_{expect}")
        answered[expect] += got == expect or after_check
        guesses = options.likely_intents(parse.get("intent_ranking")) if got == FALLBACK_INTENT else []
        offered[expect] += got == expect or expect in guesses
        if got != expect:
            asked = f" (offered: {', '.join(guesses) or 'nothing'})" if got == FALLBACK_INTENT else ""
            asked += f" (then answered: {held})" if got == CHECK_INTENT and held else ""
            wrong.append((expect, got + asked, message["text"]))

    def share(counter, intents):
        hit, count = sum(counter[i] for i in intents), sum(total[i] for i in intents)
        return f"{hit}/{count} = {hit / count:.3f}" if count else "0/0"

    others = sorted(i for i in total if i not in TOPICS)
    lines = [
        f"## Topics and other intents (tests/data/frozen/{name})",
        "",
        note,
        "",
        f"- article topics, strict: {share(right, TOPICS)}",
        f"- article topics, right or offered in a clarifying question: {share(offered, TOPICS)}",
        f"- article topics, answered (strict, or after the check-in question): {share(answered, TOPICS)}",
        f"- other intents, strict: {share(right, others)}",
        f"- other intents, right or offered: {share(offered, others)}",
        f"- other intents, answered (strict, or after the check-in question): {share(answered, others)}",
        "",
        "| intent | right | right or offered |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {i} | {right[i]}/{total[i]} | {offered[i]}/{total[i]} |" for i in sorted(total)]
    lines += ["", "Every miss (expected: got: message):", ""]
    lines += [f"- {e}: {g}: {t!r}" for e, g, t in wrong]
    return lines + [""]


def classifier_parts_report():
    """The intent classifier's parts side by side on the frozen set (scripts/evaluate.py's
    comparison): trained here on all the training data, top guess, no fallback."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from evaluate import classifier_parts, load_examples

    from components.risk_model import Embedder

    embed = Embedder(threads=2, cache_dir=ROOT / ".cache" / "embeddings").embed
    examples = load_examples()
    messages = yaml.safe_load((FROZEN / NEWEST_NLU_SET).read_text())["messages"]
    texts, truth = [m["text"] for m in messages], [m["intent"] for m in messages]
    parts = classifier_parts([t for t, _ in examples], [i for _, i in examples], {"frozen": texts}, embed)[
        "frozen"
    ]
    lines = [
        f"## The intent classifier's parts on tests/data/frozen/{NEWEST_NLU_SET} (top guess, no fallback)",
        "",
        "| classifier | article topics | other intents |",
        "| --- | --- | --- |",
    ]
    for name, predicted in parts.items():
        cells = []
        for wanted in (True, False):
            pairs = [(p, t) for p, t in zip(predicted, truth) if (t in TOPICS) == wanted]
            cells.append(
                f"{sum(p == t for p, t in pairs)}/{len(pairs)} = "
                f"{sum(p == t for p, t in pairs) / len(pairs):.3f}"
            )
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return lines + [""]


def main():
    from threshold.clinic_profile import load_clinic_profile

    started = time.monotonic()
    agent = load_agent()
    contacts = load_clinic_profile().template_values()
    loop = asyncio.new_event_loop()
    lines = [
        "# Frozen test sets",
        "",
        "Through the trained model (`make eval-frozen`). These sets are never used to choose "
        "anything; a set's figures count as unseen only on its first measurement (see each note).",
        "",
    ]
    for name, note in RISK_SETS.items():
        lines += loop.run_until_complete(risk_report(agent, contacts, name, note))
    for name, note in NLU_SETS.items():
        lines += loop.run_until_complete(nlu_report(agent, name, note))
    lines += classifier_parts_report()
    lines.append(f"Run time: {time.monotonic() - started:.0f} s.")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "frozen.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
