"""Without a shared lock store, a conversation store serves one server: start-up refuses
a second server on it, and several workers, with a message that says what to set."""

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import PROJECT_ROOT, postgres_store_settings

from threshold import rasa_server
from threshold.tracker_store import StoreInUse, claim_store_for_one_server


def start_server_with(environment, tmp_path, endpoints="endpoints.yml"):
    """threshold.rasa_server's start-up in its own process, stopped before Rasa itself starts."""
    code = textwrap.dedent(
        f"""
        import rasa.__main__
        rasa.__main__.main = lambda: print("RASA WOULD START")
        from threshold.rasa_server import main
        main(["run", "--endpoints", {str(endpoints)!r}, "--model", "models/threshold.tar.gz"])
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
            "THRESHOLD_DB_CONNECT_SECONDS": "5",
            **environment,
        },
    )


def test_a_second_claim_on_one_sqlite_store_is_refused_until_the_first_ends(tmp_path):
    settings = {"dialect": "sqlite", "db": str(tmp_path / "conversations.db")}
    first = claim_store_for_one_server(settings)
    with pytest.raises(StoreInUse, match="conversations.db"):
        claim_store_for_one_server(settings)
    first.close()
    claim_store_for_one_server(settings).close()


def test_a_second_claim_on_one_postgresql_store_is_refused_until_the_first_ends(postgres):
    settings = postgres_store_settings(postgres)
    first = claim_store_for_one_server(settings)
    with pytest.raises(StoreInUse, match=postgres["THRESHOLD_DB_NAME"]):
        claim_store_for_one_server(settings)
    first.close()
    claim_store_for_one_server(settings).close()


def test_a_second_server_on_the_same_store_does_not_start(tmp_path):
    database = tmp_path / "conversations.db"
    held_by_a_running_server = claim_store_for_one_server({"dialect": "sqlite", "db": str(database)})
    try:
        refused = start_server_with({"THRESHOLD_DB_NAME": str(database)}, tmp_path)
    finally:
        held_by_a_running_server.close()
    assert refused.returncode == 1 and "RASA WOULD START" not in refused.stdout
    message = refused.stderr.strip().splitlines()[-1]
    assert message.startswith(
        "Cannot start the assistant: another server already uses the conversation store"
    )
    assert str(database) in message and "lock_store" in message and "redis" in message
    started = start_server_with({"THRESHOLD_DB_NAME": str(database)}, tmp_path)
    assert started.returncode == 0 and "RASA WOULD START" in started.stdout, started.stderr[-2000:]


def test_a_second_server_on_the_same_postgresql_store_does_not_start(postgres, tmp_path):
    held_by_a_running_server = claim_store_for_one_server(postgres_store_settings(postgres))
    try:
        refused = start_server_with(postgres, tmp_path)
    finally:
        held_by_a_running_server.close()
    assert refused.returncode == 1 and "RASA WOULD START" not in refused.stdout
    assert "another server already uses the conversation store" in refused.stderr


def test_several_workers_without_a_shared_lock_store_do_not_start(tmp_path):
    refused = start_server_with(
        {"SANIC_WORKERS": "2", "THRESHOLD_DB_NAME": str(tmp_path / "conversations.db")}, tmp_path
    )
    assert refused.returncode == 1 and "RASA WOULD START" not in refused.stdout
    message = refused.stderr.strip().splitlines()[-1]
    assert "SANIC_WORKERS=2" in message and "lock_store" in message and "redis" in message


def test_with_a_shared_lock_store_several_servers_and_workers_may_share_the_store(tmp_path, monkeypatch):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        (PROJECT_ROOT / "endpoints.yml").read_text() + "\nlock_store:\n  type: redis\n  url: localhost\n"
    )
    database = tmp_path / "conversations.db"
    monkeypatch.setenv("THRESHOLD_DB_NAME", str(database))
    held_by_a_running_server = claim_store_for_one_server({"dialect": "sqlite", "db": str(database)})
    try:
        rasa_server.keep_to_one_server(["run", "--endpoints", str(endpoints)], {"SANIC_WORKERS": "2"})
    finally:
        held_by_a_running_server.close()
