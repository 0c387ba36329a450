""" "Delete my conversation": after a yes, every stored event of the conversation is deleted
from the SQL store (SQLite and PostgreSQL), and the next message starts a new one."""

import asyncio
import time
import uuid

import pytest
import sqlalchemy as sa
from conftest import MODEL_PATH, PROJECT_ROOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered

from threshold.tracker_store import FORGET_ACTION, ClinicSQLTrackerStore

ASK = "utter_confirm_delete_conversation"


def run(coroutine):
    return asyncio.run(coroutine)


def turn(store, sender, text, action):
    tracker = run(store.get_or_create_tracker(sender))
    tracker.update(UserUttered(text, {"name": "x", "confidence": 1.0}))
    tracker.update(ActionExecuted(action))
    tracker.update(BotUttered(f"reply to {text}"))
    tracker.update(ActionExecuted("action_listen"))
    run(store.save(tracker))
    return tracker


def rows(store, sender):
    with store.session_scope() as session:
        return session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == sender).count()


def test_a_confirmed_deletion_removes_every_session_of_that_conversation_only(shared_database):
    store = ClinicSQLTrackerStore(domain=Domain.empty(), **shared_database)
    person, someone_else = f"person-{time.time_ns()}", f"other-{time.time_ns()}"
    turn(store, person, "first session's message", "utter_greet")
    tracker = run(store.get_or_create_tracker(person))
    for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
        tracker.update(event)
    run(store.save(tracker))
    turn(store, someone_else, "hello", "utter_greet")
    turn(store, person, "please delete this", ASK)
    assert rows(store, person) > 0  # the question alone deletes nothing
    turn(store, person, "yes", FORGET_ACTION)
    assert rows(store, person) == 0
    assert rows(store, someone_else) > 0
    fresh = run(store.get_or_create_tracker(person))
    assert not [e for e in fresh.events if isinstance(e, UserUttered)]
    turn(store, person, "a new start", "utter_greet")
    reread = run(
        ClinicSQLTrackerStore(domain=Domain.empty(), recent_conversations=0, **shared_database).retrieve(
            person
        )
    )
    assert [e.text for e in reread.events if isinstance(e, UserUttered)] == ["a new start"]


def test_a_deleted_conversations_words_are_not_left_in_the_sqlite_files(tmp_path):
    database = tmp_path / "c.db"
    store = ClinicSQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(database))
    marker = f"marker-{uuid.uuid4().hex}"
    for number in range(20):
        turn(store, "person", f"{marker} message {number}", "utter_greet")
    turn(store, "person", "yes", FORGET_ACTION)
    assert rows(store, "person") == 0
    store.engine.dispose()
    written = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("c.db"))
    assert marker.encode() not in written


# Through the trained model, with the project's SQL store.


@pytest.fixture
def talk(tmp_path, event_loop_for_agent, action_server_url):
    from rasa.core.agent import Agent
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.endpoints import EndpointConfig

    endpoints = AvailableEndpoints.read_endpoints(str(PROJECT_ROOT / "endpoints.yml"))
    domain = Domain.load([str(PROJECT_ROOT / "domain.yml"), str(PROJECT_ROOT / "data" / "responses")])
    store = ClinicSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "conversations.db"))
    agent = Agent.load(
        str(MODEL_PATH),
        action_endpoint=EndpointConfig(url=action_server_url),
        generator=endpoints.nlg,
        tracker_store=store,
    )
    sender = uuid.uuid4().hex

    def say(text):
        replies = event_loop_for_agent.run_until_complete(agent.handle_text(text, sender_id=sender)) or []
        tracker = event_loop_for_agent.run_until_complete(store.retrieve(sender))
        actions = [
            e.action_name for e in (tracker.events if tracker else []) if isinstance(e, ActionExecuted)
        ]
        return replies, actions

    say.store, say.sender, say.database = store, sender, tmp_path / "conversations.db"
    return say


def stored_rows(database, sender):
    with sa.create_engine(f"sqlite:///{database}").connect() as connection:
        return connection.execute(
            sa.text("select count(*) from events where sender_id = :s"), {"s": sender}
        ).scalar()


@pytest.mark.parametrize("request_text", ["please delete this conversation", "/delete_conversation"])
def test_asking_to_delete_asks_first_and_a_yes_deletes_it(talk, request_text):
    talk("what is therapy for?")
    replies, actions = talk(request_text)
    assert actions[-2] == ASK
    assert [b["payload"] for b in replies[-1]["buttons"]][:2] == ["/affirm", "/deny"]
    replies, _ = talk("/affirm")
    assert replies and stored_rows(talk.database, talk.sender) == 0
    _, actions = talk("hello")
    assert ASK not in actions and FORGET_ACTION not in actions  # a new conversation
    assert stored_rows(talk.database, talk.sender) > 0


def test_a_no_keeps_the_conversation(talk):
    talk("what is therapy for?")
    talk("can you erase everything I wrote here?")
    before = stored_rows(talk.database, talk.sender)
    _, actions = talk("/deny")
    assert actions[-2] == "utter_conversation_kept"
    assert stored_rows(talk.database, talk.sender) > before


def test_a_question_about_this_chats_privacy_is_answered_and_offers_the_deletion(talk):
    replies, actions = talk("does anybody keep a copy of what I write in this chat?")
    assert actions[-2] == "utter_chat_privacy"
    assert "/delete_conversation" in [b["payload"] for b in replies[-1]["buttons"]]
    assert stored_rows(talk.database, talk.sender) > 0  # asking deletes nothing
