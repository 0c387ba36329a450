"""The conversation store keeps recently saved conversations in memory, and uses
one only while the database still holds exactly its events."""

import asyncio
import time

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from threshold.tracker_store import ClinicSQLTrackerStore


def run(coroutine):
    return asyncio.run(coroutine)


def new_store(database, **settings):
    return ClinicSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(database), **settings)


CRISIS_SLOT_DOMAIN = Domain.from_dict(
    {
        "slots": {
            "in_crisis": {"type": "bool", "influence_conversation": False, "mappings": [{"type": "custom"}]}
        }
    }
)


def take_turn(store, sender, text):
    """One message and its reply, the way the server handles it: read, update, save."""
    tracker = run(store.get_or_create_tracker(sender))
    tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(BotUttered(f"reply to {text}"))
    tracker.update(ActionExecuted("action_listen"))
    run(store.save(tracker))
    return tracker


def user_texts(tracker):
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def stored_rows(database, sender):
    with sa.create_engine(f"sqlite:///{database}").connect() as connection:
        return connection.execute(
            sa.text("select count(*) from events where sender_id = :s"), {"s": sender}
        ).scalar()


def test_a_recent_conversation_comes_from_memory_and_is_stored_in_full(tmp_path):
    database = tmp_path / "c.db"
    store = new_store(database)
    saved = take_turn(store, "a", "one")
    again = run(store.retrieve("a"))
    assert again is saved  # no rebuild from the database
    for text in ("two", "three", "four"):
        take_turn(store, "a", text)
    from_disk = run(new_store(database, recent_conversations=0).retrieve("a"))
    assert user_texts(from_disk) == ["one", "two", "three", "four"]
    assert stored_rows(database, "a") == len(from_disk.events)  # nothing stored twice


def test_a_change_by_another_server_is_noticed(tmp_path):
    database = tmp_path / "c.db"
    ours, theirs = new_store(database), new_store(database)
    take_turn(ours, "b", "hello")
    take_turn(theirs, "b", "from the other server")
    tracker = run(ours.retrieve("b"))
    assert user_texts(tracker) == ["hello", "from the other server"]
    take_turn(ours, "b", "back here")
    assert user_texts(run(new_store(database).retrieve("b"))) == [
        "hello",
        "from the other server",
        "back here",
    ]


def test_a_purged_conversation_is_not_brought_back(tmp_path):
    database = tmp_path / "c.db"
    store = new_store(database)
    take_turn(store, "c", "hello")
    with sa.create_engine(f"sqlite:///{database}").begin() as connection:
        connection.execute(sa.text("delete from events where sender_id = 'c'"))
    assert run(store.retrieve("c")) is None


def test_a_turn_that_fails_before_saving_leaves_nothing_behind(tmp_path):
    store = new_store(tmp_path / "c.db")
    take_turn(store, "d", "hello")
    half_done = run(store.retrieve("d"))
    half_done.update(UserUttered("never saved"))
    assert user_texts(run(store.retrieve("d"))) == ["hello"]


def test_old_and_surplus_conversations_leave_memory(tmp_path):
    store = new_store(tmp_path / "c.db", recent_conversations=2, recent_minutes=0.02)
    first = take_turn(store, "e1", "hi")
    take_turn(store, "e2", "hi")
    take_turn(store, "e3", "hi")
    assert run(store.retrieve("e1")) is not first  # evicted: read again from the database
    third = take_turn(store, "e3", "again")
    time.sleep(1.5)  # longer than recent_minutes
    reread = run(store.retrieve("e3"))
    assert reread is not third and user_texts(reread) == ["hi", "again"]


def test_memory_can_be_turned_off(tmp_path):
    store = new_store(tmp_path / "c.db", recent_conversations=0)
    saved = take_turn(store, "f", "hi")
    assert run(store.retrieve("f")) is not saved


@pytest.mark.parametrize(
    "settings",
    [
        {"recent_conversations": -1},
        {"recent_conversations": "many"},
        {"recent_minutes": 0},
        {"recent_minutes": True},
        {"retry_seconds": 0},
        {"retry_seconds": "soon"},
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(tmp_path, settings):
    with pytest.raises(ValueError, match=f"tracker_store: {next(iter(settings))} "):
        new_store(tmp_path / "c.db", **settings)


def test_the_store_benchmark_runs(capsys):
    from scripts_path import load_script

    assert load_script("store_bench").main(["--messages", "2", "--runs", "1"]) == 0
    table = capsys.readouterr().out
    assert "| Rasa's SQLTrackerStore |" in table and "| ours (endpoints.yml) |" in table


def test_a_new_session_and_a_crisis_written_by_another_server_are_not_hidden_by_memory(shared_database):
    # Server A keeps a conversation in memory. Server B starts a new session in it and
    # records a crisis, leaving as many events since the new session start as A holds:
    # A must read B's conversation, not answer from its stale copy.
    sender = f"cross-{time.time_ns()}"
    server_a = ClinicSQLTrackerStore(domain=CRISIS_SLOT_DOMAIN, **shared_database)
    server_b = ClinicSQLTrackerStore(domain=CRISIS_SLOT_DOMAIN, **shared_database)
    held_by_a = take_turn(server_a, sender, "hello")
    tracker = run(server_b.retrieve(sender))
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("a crisis message", {"name": "crisis", "confidence": 1.0}))
    tracker.update(SlotSet("in_crisis", True))
    tracker.update(BotUttered("the crisis reply"))
    run(server_b.save(tracker))
    with server_b.session_scope() as session:
        since_new_session = server_b._event_query(
            session, sender, fetch_events_from_all_sessions=False
        ).count()
    assert since_new_session == len(held_by_a.events)  # the case that fooled a count since the session start
    seen_by_a = run(server_a.retrieve(sender))
    assert seen_by_a is not held_by_a
    assert user_texts(seen_by_a)[-1] == "a crisis message"
    assert seen_by_a.get_slot("in_crisis") is True


def test_memory_is_used_across_a_session_start_by_the_same_server(shared_database):
    sender = f"restart-{time.time_ns()}"
    store = ClinicSQLTrackerStore(domain=Domain.empty(), **shared_database)
    tracker = take_turn(store, sender, "hello")
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    run(store.save(tracker))
    assert run(store.retrieve(sender)) is tracker
    take_turn(store, sender, "after the new session")
    from_disk = run(
        ClinicSQLTrackerStore(domain=Domain.empty(), recent_conversations=0, **shared_database).retrieve(
            sender
        )
    )
    assert user_texts(from_disk) == ["after the new session"]
