"""While the conversation database is down, nothing is lost: turns are kept in memory, read
from there for the next message, and written when the database answers again; a deletion asked
for meanwhile is carried out first."""

import asyncio
import contextlib

import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from threshold.tracker_store import FORGET_ACTION, ClinicSQLTrackerStore


def run(coroutine):
    return asyncio.run(coroutine)


def new_store(database, **settings):
    # Wrapped as Rasa wraps every tracker store it creates.
    settings.setdefault("pending_deletions", str(database.parent / "pending_deletions"))
    store = ClinicSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(database), **settings)
    return FailSafeTrackerStore(store)


@contextlib.contextmanager
def database_down(store, tmp_path):
    """Points the store at a database that cannot be opened, as a stopped server cannot be reached."""
    primary = store._tracker_store
    engine, sessionmaker = primary.engine, primary.sessionmaker
    unreachable = sa.create_engine(f"sqlite:///{tmp_path}/no-such-folder/conversations.db")
    primary.engine, primary.sessionmaker = unreachable, sa.orm.sessionmaker(bind=unreachable)
    try:
        yield
    finally:
        primary.engine, primary.sessionmaker = engine, sessionmaker


def take_turn(store, sender, text, action="utter_greet"):
    tracker = run(store.get_or_create_tracker(sender))
    tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
    tracker.update(ActionExecuted(action))
    tracker.update(BotUttered(f"reply to {text}"))
    tracker.update(ActionExecuted("action_listen"))
    run(store.save(tracker))
    return tracker


def user_texts(tracker):
    return [e.text for e in tracker.events if isinstance(e, UserUttered)] if tracker else []


def stored_user_texts(database, sender):
    """What a server that starts now reads from the database."""
    return user_texts(run(new_store(database).retrieve(sender)))


def test_turns_taken_while_the_database_is_down_keep_their_context_and_are_stored_when_it_is_back(tmp_path):
    database = tmp_path / "c.db"
    store = new_store(database)
    take_turn(store, "a", "one")
    with database_down(store, tmp_path):
        take_turn(store, "a", "two")
        # The next message is read with the whole conversation, not from an empty one.
        assert user_texts(run(store.retrieve("a"))) == ["one", "two"]
        take_turn(store, "a", "three")
        assert stored_user_texts(database, "a") == ["one"]
    take_turn(store, "a", "four")
    assert stored_user_texts(database, "a") == ["one", "two", "three", "four"]


def test_a_conversation_begun_while_the_database_is_down_is_stored_when_another_message_arrives(tmp_path):
    database = tmp_path / "c.db"
    store = new_store(database)
    with database_down(store, tmp_path):
        take_turn(store, "new", "hello")
        take_turn(store, "new", "are you there?")
    assert stored_user_texts(database, "new") == []
    take_turn(store, "someone else", "hi")  # any message, once the database is back
    assert stored_user_texts(database, "new") == ["hello", "are you there?"]
    assert stored_user_texts(database, "someone else") == ["hi"]


def test_each_event_is_stored_once_after_an_outage(tmp_path):
    database = tmp_path / "c.db"
    store = new_store(database)
    take_turn(store, "b", "one")
    with database_down(store, tmp_path):
        take_turn(store, "b", "two")
    take_turn(store, "b", "three")
    take_turn(store, "b", "four")
    from_disk = run(new_store(database).retrieve("b"))
    assert user_texts(from_disk) == ["one", "two", "three", "four"]
    assert len(from_disk.events) == len(run(store.retrieve("b")).events)


def test_a_turn_that_fails_during_an_outage_leaves_nothing_behind(tmp_path):
    store = new_store(tmp_path / "c.db")
    with database_down(store, tmp_path):
        take_turn(store, "c", "hello")
        half_done = run(store.retrieve("c"))
        half_done.update(UserUttered("never saved"))
        assert user_texts(run(store.retrieve("c"))) == ["hello"]


def test_a_deletion_asked_for_while_the_database_is_down_happens_when_it_is_back(tmp_path):
    database = tmp_path / "c.db"
    store = new_store(database)
    take_turn(store, "d", "something private")
    with database_down(store, tmp_path):
        take_turn(store, "d", "more")
        take_turn(store, "d", "yes", action=FORGET_ACTION)
        # Nothing of the conversation is kept in memory, and the next message starts afresh.
        assert user_texts(run(store.retrieve("d"))) == []
        take_turn(store, "d", "a new start")
    take_turn(store, "e", "hi")
    assert stored_user_texts(database, "d") == ["a new start"]


def test_a_turn_under_way_when_the_database_comes_back_stores_each_event_once(tmp_path):
    database = tmp_path / "c.db"
    store = new_store(database)
    take_turn(store, "f", "one")
    with database_down(store, tmp_path):
        take_turn(store, "f", "two")
        tracker = run(store.retrieve("f"))  # the next turn starts while the database is down
    tracker.update(UserUttered("three", {"name": "greet", "confidence": 1.0}))
    tracker.update(ActionExecuted("action_listen"))
    run(store.save(tracker))
    assert stored_user_texts(database, "f") == ["one", "two", "three"]


def test_a_deletion_asked_for_during_an_outage_is_carried_out_after_a_restart(tmp_path):
    database = tmp_path / "c.db"
    store = new_store(database)
    take_turn(store, "g", "something private")
    with database_down(store, tmp_path):
        take_turn(store, "g", "yes", action=FORGET_ACTION)
    # The server restarts before another message: the request was written down.
    del store
    restarted = new_store(database)
    assert stored_user_texts(database, "g") == []
    # What is said after the request is a new conversation, and is kept.
    take_turn(restarted, "g", "a new start")
    assert stored_user_texts(database, "g") == ["a new start"]


def test_what_waits_is_written_soon_after_the_database_is_back_without_another_message(tmp_path):
    database = tmp_path / "c.db"
    store = new_store(database, retry_seconds=0.05)

    async def outage_then_recovery():
        with database_down(store, tmp_path):
            tracker = await store.get_or_create_tracker("h")
            tracker.update(UserUttered("said during the outage", {"name": "greet", "confidence": 1.0}))
            await store.save(tracker)
        await asyncio.sleep(0.5)

    run(outage_then_recovery())
    assert stored_user_texts(database, "h") == ["said during the outage"]


def test_the_whole_conversation_is_read_from_memory_while_the_database_is_down(tmp_path):
    store = new_store(tmp_path / "c.db")
    take_turn(store, "i", "one")
    with database_down(store, tmp_path):
        take_turn(store, "i", "two")
        assert user_texts(run(store.retrieve_full_tracker("i"))) == ["one", "two"]
        take_turn(store, "i", "three")
        assert user_texts(run(store.retrieve("i"))) == ["one", "two", "three"]


def test_a_deletion_that_cannot_be_written_down_still_happens_when_the_database_is_back(tmp_path):
    database = tmp_path / "c.db"
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    store = new_store(database, pending_deletions=str(not_a_folder / "pending"))
    take_turn(store, "j", "something private")
    with database_down(store, tmp_path):
        take_turn(store, "j", "yes", action=FORGET_ACTION)
        take_turn(store, "j", "a new start")
    take_turn(store, "k", "hi")
    assert stored_user_texts(database, "j") == ["a new start"]
