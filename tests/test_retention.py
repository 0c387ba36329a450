"""Retention (`make purge DAYS=N`) and a database that cannot be reached."""

import asyncio
import time

import pytest
import sqlalchemy as sa
from conftest import free_port
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from scripts_path import load_script

from threshold.tracker_store import ClinicSQLTrackerStore, TrackerStoreUnavailable


def store_conversation(store, sender, age_days):
    when = time.time() - age_days * 86400
    tracker = DialogueStateTracker.from_events(sender, [UserUttered("hello", timestamp=when)])
    asyncio.run(store.save(tracker))


def test_purge_deletes_only_conversations_older_than_the_cutoff(tmp_path, monkeypatch):
    database = tmp_path / "conversations.db"
    monkeypatch.setenv("THRESHOLD_DB_NAME", str(database))
    store = ClinicSQLTrackerStore(domain=Domain.empty(), dialect="sqlite")
    store_conversation(store, "old", age_days=45)
    store_conversation(store, "recent", age_days=2)
    purge = load_script("purge")
    assert purge.main(["--days", "30"]) == 0
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        senders = {row[0] for row in connection.execute(sa.text("select distinct sender_id from events"))}
    assert senders == {"recent"}
    assert purge.main(["--days", "1"]) == 0
    with engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from events")).scalar() == 0


def test_purge_refuses_a_negative_number_of_days():
    with pytest.raises(SystemExit):
        load_script("purge").main(["--days", "-1"])


def test_an_unreachable_database_stops_start_up_with_its_name(monkeypatch):
    monkeypatch.setenv("THRESHOLD_DB_CONNECT_SECONDS", "1")
    port = free_port()  # nothing listens there
    with pytest.raises(TrackerStoreUnavailable) as error:
        ClinicSQLTrackerStore(
            domain=Domain.empty(),
            dialect="postgresql",
            host="127.0.0.1",
            port=port,
            db="clinic_conversations",
            username="x",
            password="y",
        )
    message = str(error.value)
    assert "clinic_conversations" in message and f"127.0.0.1:{port}" in message


def test_sqlite_store_uses_the_write_ahead_log(tmp_path, monkeypatch):
    monkeypatch.setenv("THRESHOLD_DB_NAME", str(tmp_path / "conversations.db"))
    store = ClinicSQLTrackerStore(domain=Domain.empty(), dialect="sqlite")
    store_conversation(store, "someone", age_days=0)
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


@pytest.mark.parametrize("days", ["0", "0.5"])
def test_purge_refuses_less_than_a_day_so_a_live_conversation_is_never_deleted(days):
    with pytest.raises(SystemExit):
        load_script("purge").main(["--days", days])


def test_purge_finds_the_project_store_when_run_from_another_folder(tmp_path, monkeypatch):
    from conftest import PROJECT_ROOT

    name = f"purge-test-{time.time_ns()}.db"  # relative: resolved against the project, like the server's
    monkeypatch.setenv("THRESHOLD_DB_NAME", name)
    try:
        store = ClinicSQLTrackerStore(domain=Domain.empty(), dialect="sqlite")
        store_conversation(store, "old", age_days=45)
        store.engine.dispose()
        monkeypatch.chdir(tmp_path)
        assert load_script("purge").main(["--days", "30"]) == 0
        assert not (tmp_path / name).exists()
        engine = sa.create_engine(f"sqlite:///{PROJECT_ROOT / name}")
        with engine.connect() as connection:
            assert connection.execute(sa.text("select count(*) from events")).scalar() == 0
    finally:
        for suffix in ("", "-wal", "-shm"):
            (PROJECT_ROOT / (name + suffix)).unlink(missing_ok=True)
