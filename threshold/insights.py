"""What people ask, week by week, for the clinic: counts from the conversation store, no text.

`make insights` reads the events table of the conversation store (SQLite or PostgreSQL,
the same settings as the server) and writes results/insights/: `insights.csv` (week,
measure, count) and `index.html` (the same numbers with plots).

Privacy: only event types, intent and action names, slot names and the reply names in
a bot event's metadata are read; a user event's text is looked at only to tell a button
tap ("/book_appointment") from typed words, and never kept. A count from 1 to 4 is shown
as "<5", so no one can be singled out; when it is the only hidden part of a total, the next
smallest part is hidden too, so subtraction cannot recover it. Nothing identifies a person or a
conversation.
"""

import base64
import csv
import datetime
import html
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Text, Tuple

import sqlalchemy as sa

from threshold.article_topics import article_topics

SMALL = 5
HIDDEN = "hidden"
CRISIS_REPLIES = ("utter_crisis", "utter_medical_emergency", "utter_crisis_check", "utter_crisis_third_party")
# The clarifying question, and its version for a message in another language.
CLARIFY_REPLIES = ("utter_clarify", "utter_clarify_another_language")
FALLBACK_REPLY = "utter_fallback"
BOOKING_REPLY = "utter_book_appointment"
BOOKING_PAYLOAD = "/book_appointment"
OTHER_LANGUAGE_INTENT = "other_language"
CLINIC_INTENT_PREFIX = "pre_appointment_"
EXERCISE_SLOT = "exercise_id"
EXERCISE_SUGGEST_ACTION = "action_suggest_exercise"
EXERCISE_STEP_ACTION = "action_exercise_step"
# The first-session guide: its opening line (also shown when a paused guide is picked up
# again), and the notes at its end (or the reply when every question was skipped).
GUIDE_FORM = "first_session_guide_form"
GUIDE_START_REPLY = "utter_guide_intro"
GUIDE_END_REPLIES = ("utter_guide_summary", "utter_guide_summary_empty")

# The measures in the order the report shows them, with their plain names.
MEASURES = {
    "conversations": "Conversations",
    "messages": "Messages from people",
    "article_questions": "Questions about therapy (the article's topics)",
    "clinic_questions": "Practical questions about the clinic",
    "clarifying_questions": "Clarifying questions asked back",
    "fallbacks": "Not understood (asked to put it another way)",
    "other_language": "Messages in another language",
    "exercises_started": "Reflection exercises started",
    "exercises_finished": "Reflection exercises finished",
    "guides_started": "First-session guides started (or picked up again)",
    "guides_finished": "First-session guides finished",
    "booking_replies": "Booking replies shown",
    "booking_taps": "Booking button taps",
    "crisis_replies": "Crisis replies",
}


@dataclass
class WeekCounts:
    totals: Counter = field(default_factory=Counter)
    topics: Counter = field(default_factory=Counter)
    clinic: Counter = field(default_factory=Counter)
    senders: set = field(default_factory=set)


def week_of(timestamp: float) -> Text:
    year, week, _ = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def _data(row) -> dict:
    try:
        data = json.loads(row.data or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def count_events(rows: Iterable, topics: Iterable[Text]) -> Dict[Text, WeekCounts]:
    """Weekly counts from event rows (sender_id, type_name, timestamp, intent_name,
    action_name, data), in the order they were stored."""
    topics = set(topics)
    weeks: Dict[Text, WeekCounts] = defaultdict(WeekCounts)
    last_action: Dict[Text, Text] = {}
    # Messages written while the first-session guide runs are answers to its questions, not
    # questions to the assistant, whatever the classifier made of them.
    in_guide: Dict[Text, bool] = {}
    for row in rows:
        if row.timestamp is None:
            continue
        week = weeks[week_of(row.timestamp)]
        kind = row.type_name
        if kind == "user":
            week.totals["messages"] += 1
            week.senders.add(row.sender_id)
            intent = row.intent_name or ""
            answering_the_guide = in_guide.get(row.sender_id, False)
            if intent in topics and not answering_the_guide:
                week.totals["article_questions"] += 1
                week.topics[intent] += 1
            elif (
                intent.startswith(CLINIC_INTENT_PREFIX) or intent == "book_appointment"
            ) and not answering_the_guide:
                week.totals["clinic_questions"] += 1
                week.clinic[intent] += 1
            elif intent == OTHER_LANGUAGE_INTENT:
                week.totals["other_language"] += 1
            # A button's payload, not words someone typed: read, compared, not kept.
            week.totals["booking_taps"] += (_data(row).get("text") or "").startswith(BOOKING_PAYLOAD)
        elif kind == "active_loop":
            in_guide[row.sender_id] = _data(row).get("name") == GUIDE_FORM
        elif kind == "session_started":
            # A new session starts with no form running (Rasa stores no event for that).
            in_guide[row.sender_id] = False
        elif kind == "action":
            last_action[row.sender_id] = row.action_name
        elif kind == "bot":
            reply = (_data(row).get("metadata") or {}).get("utter_action")
            week.totals["clarifying_questions"] += reply in CLARIFY_REPLIES
            week.totals["fallbacks"] += reply == FALLBACK_REPLY
            week.totals["booking_replies"] += reply == BOOKING_REPLY
            week.totals["crisis_replies"] += reply in CRISIS_REPLIES
            week.totals["guides_started"] += reply == GUIDE_START_REPLY
            week.totals["guides_finished"] += reply in GUIDE_END_REPLIES
        elif kind == "slot":
            data = _data(row)
            if data.get("name") != EXERCISE_SLOT:
                continue
            # Only the exercise actions' own slot events count: a new session copies every
            # earlier slot event again (carry_over_slots_to_new_session), after its own action.
            action = last_action.get(row.sender_id)
            if data.get("value") and action == EXERCISE_SUGGEST_ACTION:
                week.totals["exercises_started"] += 1
            elif not data.get("value") and action == EXERCISE_STEP_ACTION:
                week.totals["exercises_finished"] += 1
    for week in weeks.values():
        week.totals["conversations"] = len(week.senders)
    return dict(sorted(weeks.items()))


def read_events(engine: sa.engine.Engine) -> List:
    events = sa.Table("events", sa.MetaData(), autoload_with=engine)
    query = sa.select(
        events.c.sender_id,
        events.c.type_name,
        events.c.timestamp,
        events.c.intent_name,
        events.c.action_name,
        events.c.data,
    ).order_by(events.c.sender_id, events.c.id)
    with engine.connect() as connection:
        return list(connection.execute(query))


def shown(count: int) -> Text:
    """A count as the report shows it: from 1 to 4 it is "<5"."""
    return f"<{SMALL}" if 0 < count < SMALL else str(count)


def breakdown(counts: Counter) -> Dict[Text, Text]:
    """A total's parts as shown. When exactly one part is hidden, the total minus the others
    would give it away, so the smallest shown part is hidden too ("hidden")."""
    cells = {key: shown(n) for key, n in counts.items()}
    small = [key for key, n in counts.items() if 0 < n < SMALL]
    others = sorted((n, key) for key, n in counts.items() if n >= SMALL)
    if len(small) == 1 and others:
        cells[others[0][1]] = HIDDEN
    return cells


def table_rows(weeks: Dict[Text, WeekCounts]) -> List[Tuple[Text, Text, Text]]:
    """(week, measure, shown count): every measure, then each topic and clinic question."""
    rows = []
    for name, week in weeks.items():
        rows += [(name, measure, shown(week.totals[measure])) for measure in MEASURES]
        for prefix, counts in (("topic", week.topics), ("clinic", week.clinic)):
            cells = breakdown(counts)
            rows += [(name, f"{prefix}:{key}", cells[key]) for key in sorted(cells)]
    return rows


def write_csv(rows: List[Tuple[Text, Text, Text]], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["week", "measure", "count"])
        writer.writerows(rows)


def _plot(weeks: Dict[Text, WeekCounts], measures: List[Text], title: Text) -> Text:
    """A bar chart as a data: URL. Small counts are drawn as 0 and labelled "<5"."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(weeks)
    figure, axis = plt.subplots(figsize=(7, 3.2))
    width = 0.8 / max(len(measures), 1)
    for index, measure in enumerate(measures):
        values = [weeks[w].totals[measure] for w in names]
        drawn = [v if v >= SMALL else 0 for v in values]
        positions = [i + index * width for i in range(len(names))]
        bars = axis.bar(positions, drawn, width, label=MEASURES[measure])
        for bar, value in zip(bars, values):
            if 0 < value < SMALL:
                axis.annotate(f"<{SMALL}", (bar.get_x() + bar.get_width() / 2, 0), ha="center", va="bottom")
    axis.set_xticks([i + width * (len(measures) - 1) / 2 for i in range(len(names))])
    axis.set_xticklabels(names)
    axis.set_title(title)
    axis.legend(fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def write_html(weeks: Dict[Text, WeekCounts], rows, path: Path, clinic_name: Optional[Text] = None) -> None:
    plots = [
        _plot(weeks, ["conversations", "messages"], "Conversations and messages"),
        _plot(weeks, ["article_questions", "clinic_questions", "other_language"], "What people asked"),
        _plot(weeks, ["clarifying_questions", "fallbacks"], "Where the assistant was unsure"),
        _plot(
            weeks,
            ["exercises_started", "exercises_finished", "guides_started", "guides_finished"],
            "Reflection exercises and first-session guides",
        ),
        _plot(weeks, ["booking_replies", "booking_taps", "crisis_replies"], "Toward a therapist"),
    ]
    names = list(weeks)
    by_cell = {(w, m): c for w, m, c in rows}
    measures = list(MEASURES) + sorted({m for _, m, _ in rows if ":" in m})

    def label(measure: Text) -> Text:
        return MEASURES.get(measure, measure.replace("topic:", "Topic: ").replace("clinic:", "Clinic: "))

    header = "".join(f"<th>{html.escape(w)}</th>" for w in names)
    body = "".join(
        f"<tr><td>{html.escape(label(m))}</td>"
        + "".join(f"<td>{html.escape(by_cell.get((w, m), '0'))}</td>" for w in names)
        + "</tr>"
        for m in measures
    )
    title = "What people ask" + (f": {html.escape(clinic_name)}" if clinic_name else "")
    images = "".join(f'<img alt="" src="{src}">' for src in plots)
    path.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "img{max-width:100%}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:right}"
        "td:first-child{text-align:left}</style></head><body>"
        f"<h1>{title}</h1>"
        f"<p>Counts by week (ISO weeks, UTC) from the conversation store. No message text is read "
        f"into this report; a count from 1 to {SMALL - 1} is shown as &lt;{SMALL}.</p>"
        f"{images}<table><tr><th>Measure</th>{header}</tr>{body}</table></body></html>",
        encoding="utf-8",
    )


def report(engine: sa.engine.Engine, out: Path, clinic_name: Optional[Text] = None) -> Dict[Text, WeekCounts]:
    out.mkdir(parents=True, exist_ok=True)
    weeks = (
        count_events(read_events(engine), article_topics()) if sa.inspect(engine).has_table("events") else {}
    )
    rows = table_rows(weeks)
    write_csv(rows, out / "insights.csv")
    write_html(weeks, rows, out / "index.html", clinic_name)
    return weeks
