"""Conversations in an SQL database: SQLite by default, PostgreSQL through the environment.

Set in endpoints.yml (type: threshold.tracker_store.ClinicSQLTrackerStore). These
environment variables override the file: THRESHOLD_DB_DIALECT (sqlite or postgresql),
THRESHOLD_DB_HOST, THRESHOLD_DB_PORT, THRESHOLD_DB_NAME, THRESHOLD_DB_USER,
THRESHOLD_DB_PASSWORD.

Rasa's own SQL store waits forever for a database that does not answer; this one
tries for THRESHOLD_DB_CONNECT_SECONDS (default 20) and then stops start-up with
an error that names the database.

Rasa's SQL store also reads and rebuilds the whole conversation for every message,
which grew to most of the server's time under load. This one keeps the conversations
it saved recently in memory (`recent_conversations`, for `recent_minutes`) and uses
one only if the conversation's rows in the database are still exactly the ones it
saved: their number, highest id and latest timestamp over all sessions, which only
grow (`stored_stamp`). Another server writing to the same database, even a new
session and a crisis, or a purge, is noticed. The database stays the record.

While the database cannot be reached, no conversation is lost: a conversation whose turn
could not be saved is kept in memory (`_unsaved`, with how many of its events the database
already holds), read from there for its next message, so a reply to "are you safe right
now?" still knows the question, and written out in full when the database answers again (at
the next message of any conversation). A request to delete a conversation made meanwhile is
carried out first. Only a restart of this server while the database is down loses them.

"Delete my conversation": when a turn ends with the reply that confirms it
(FORGET_ACTION, after the person said yes), the store saves the turn and then deletes
every stored event of that conversation, in all its sessions, and forgets its copy in
memory; the next message starts a new conversation.
"""

import asyncio
import copy
import fcntl
import hashlib
import itertools
import json
import logging
import os
import time
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any, List, Optional, Text, Tuple

import sqlalchemy as sa
import yaml
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from threshold import rasa_overrides

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


def database_url(settings: dict, dialect: Text, db: Text, login_db: Optional[Text] = None) -> Text:
    """The store's database; with `login_db`, the one Rasa first logs in to (where it
    creates the store's database when that does not exist yet)."""
    return SQLTrackerStore.get_db_url(
        dialect,
        settings.get("host"),
        settings.get("port"),
        db,
        settings.get("username"),
        settings.get("password"),
        login_db,
        settings.get("query"),
    )


# The reply that confirms a deletion (data/rules/privacy.yml): the turn that sends it is the
# conversation's last.
FORGET_ACTION = "utter_conversation_deleted"


def asked_to_forget(tracker: DialogueStateTracker) -> bool:
    """Whether the turn just taken confirmed deleting the conversation."""
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted) and event.action_name != ACTION_LISTEN_NAME:
            return event.action_name == FORGET_ACTION
        if isinstance(event, UserUttered):
            return False
    return False


class StoreInUse(RuntimeError):
    """Another server already uses the conversation store, and no shared lock store is set."""


# PostgreSQL's advisory lock that one server holds while it is the store's only user.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
SOLE_SERVER_LOCK = zlib.crc32(b"threshold: the only server on this conversation store")


def claim_store_for_one_server(settings: dict) -> Any:
    """Marks the store as used by this server alone, for as long as the returned handle
    is kept: an open lock file beside an SQLite file, or a PostgreSQL session holding an
    advisory lock (both go when the process ends, however it ends). Raises StoreInUse
    when another server holds it.

    Without a shared lock store (Redis), two servers on one store answer messages of one
    conversation without seeing each other's, start two sessions, and can keep a stale
    copy in memory: a crisis recorded by one would not reach the other's replies."""
    dialect = settings.get("dialect", "sqlite")
    db = settings.get("db", "conversations.db")
    where = describe(dialect, settings.get("host"), settings.get("port"), db)
    if dialect == "sqlite":
        handle = open(os.path.abspath(db) + ".server-lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StoreInUse(where) from None
        return handle
    if not str(dialect).startswith("postgresql"):
        logger.warning("Cannot check that no other server uses the %s: keep to one server.", where)
        return None
    ClinicSQLTrackerStore._check_reachable(settings, dialect, db, where)
    url = database_url(settings, dialect, db)
    # Autocommit: the session holding the lock is never left "idle in transaction" (which a
    # timeout could end, silently releasing the lock); keepalives end it soon after a
    # crashed host, so a replacement server can start.
    engine = sa.create_engine(
        url,
        poolclass=sa.pool.NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )
    connection = engine.connect()
    taken = connection.execute(
        sa.text("select pg_try_advisory_lock(:key)"), {"key": SOLE_SERVER_LOCK}
    ).scalar()
    if not taken:
        connection.close()
        raise StoreInUse(where)
    return connection


def settings_from_environment(**configured: Any) -> dict:
    settings = dict(configured)
    for key, variable in ENVIRONMENT.items():
        if os.environ.get(variable):
            settings[key] = os.environ[variable]
    return settings


def store_engine(endpoints: Path, root: Path) -> sa.engine.Engine:
    """An engine for the conversation store in endpoints.yml, with the THRESHOLD_DB_*
    overrides, for the scripts (purge, insights). A relative SQLite path is the
    project's own file, wherever the script runs from (cron)."""
    config = (yaml.safe_load(Path(endpoints).read_text()) or {}).get("tracker_store") or {}
    config.pop("type", None)
    settings = settings_from_environment(**config)
    dialect = settings.get("dialect", "sqlite")
    db = settings.get("db", "conversations.db")
    if dialect == "sqlite" and not Path(db).is_absolute():
        db = str(Path(root) / db)
    return sa.create_engine(database_url(settings, dialect, db))


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
    # A deleted conversation is overwritten, not left readable in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class ClinicSQLTrackerStore(SQLTrackerStore):
    def __init__(
        self,
        domain=None,
        host=None,
        event_broker=None,
        recent_conversations: int = 200,
        recent_minutes: float = 15,
        pending_deletions: Text = ".pending_deletions",
        retry_seconds: float = 5,
        **kwargs: Any,
    ) -> None:
        if (
            isinstance(recent_conversations, bool)
            or not isinstance(recent_conversations, int)
            or recent_conversations < 0
        ):
            raise ValueError("tracker_store: recent_conversations must be a whole number, 0 or more")
        if (
            isinstance(recent_minutes, bool)
            or not isinstance(recent_minutes, (int, float))
            or recent_minutes <= 0
        ):
            raise ValueError("tracker_store: recent_minutes must be a number of minutes above 0")
        if isinstance(retry_seconds, bool) or not isinstance(retry_seconds, (int, float)):
            raise ValueError("tracker_store: retry_seconds must be a number of seconds above 0")
        if retry_seconds <= 0:
            raise ValueError("tracker_store: retry_seconds must be a number of seconds above 0")
        self._recent: OrderedDict[Text, Tuple[DialogueStateTracker, float, Tuple]] = OrderedDict()
        # How many events of a conversation in use are in the database, as checked when it was read.
        self._stored_counts: dict = {}
        # Conversations whose last turns the database did not take, with how many of their
        # events it holds, and conversations to delete once it answers again.
        self._unsaved: OrderedDict[Text, List[Tuple[DialogueStateTracker, int]]] = OrderedDict()
        # Deletions asked for while the database was down (conversation id: time of the
        # request), each also written down in a file of `pending_deletions`, so that a restart
        # does not undo a promise to forget. The folder is read once, at start-up.
        self._pending_deletions = Path(pending_deletions)
        self._deletions: dict = {}
        self._retry_seconds = float(retry_seconds)
        self._retrying = False
        # Which copy of a waiting conversation retrieve() handed out last: saving it replaces
        # the copy that waits.
        self._handed_out: dict = {}
        self._recent_limit = recent_conversations
        self._recent_seconds = recent_minutes * 60
        settings = settings_from_environment(host=host, **kwargs)
        dialect = settings.get("dialect", "sqlite")
        db = settings.get("db", "conversations.db")
        where = describe(dialect, settings.get("host"), settings.get("port"), db)
        self._check_reachable(settings, dialect, db, where)
        super().__init__(domain=domain, event_broker=event_broker, **settings)
        if dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_write_ahead_log)
            self.engine.dispose()  # reconnect with the pragmas
        else:
            # After a database restart, no dead pooled connection is used.
            rasa_overrides.check_connections_before_use(self)
        logger.info("Conversations are stored in the %s.", where)
        self._deletions = self._written_down_deletions()
        self.write_unsaved()  # deletions a previous run could not carry out

    @staticmethod
    def _check_reachable(settings: dict, dialect: Text, db: Text, where: Text) -> None:
        url = database_url(settings, dialect, db, settings.get("login_db"))
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

    def stored_stamp(self, sender_id: Text) -> Tuple:
        """The number, highest id and latest timestamp of a conversation's stored events,
        over all its sessions. Counting only the latest session would not do: another
        server can start a new session holding as many events as the copy in memory."""
        table = self.SQLEvent
        with self.session_scope() as session:
            row = (
                session.query(sa.func.count(table.id), sa.func.max(table.id), sa.func.max(table.timestamp))
                .filter(table.sender_id == sender_id)
                .one()
            )
        return tuple(row)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        self.write_unsaved()
        unsaved = self._unsaved.get(sender_id)
        if unsaved is not None:
            # The database is still down: this conversation as it stands, not an empty one. A
            # copy, so a turn that fails before it is saved leaves nothing behind here either.
            tracker = copy.deepcopy(unsaved[-1][0])
            self._stored_counts[sender_id] = (id(tracker), unsaved[-1][1])
            self._handed_out[sender_id] = id(tracker)
            return tracker
        # Taken out while in use: a turn that fails before it is saved leaves no copy behind.
        recent = self._recent.pop(sender_id, None)
        if recent is not None:
            tracker, saved_at, stamp = recent
            try:
                current = self.stored_stamp(sender_id)
            except sa.exc.SQLAlchemyError:
                # The database is down: the copy this server saved last is the latest there is.
                self._stored_counts[sender_id] = (id(tracker), len(tracker.events))
                return tracker
            fresh = time.monotonic() - saved_at < self._recent_seconds
            if fresh and current == stamp:
                self._stored_counts[sender_id] = (id(tracker), len(tracker.events))
                return tracker
        tracker = await super().retrieve(sender_id)
        if tracker is not None:
            self._stored_counts[sender_id] = (id(tracker), len(tracker.events))
        return tracker

    def write_unsaved(self) -> bool:
        """Carries out the deletions and writes the conversations that waited for the database,
        oldest first; stops at the first failure (the database is still down). True when
        nothing waits any more."""
        if not self._deletions and not self._unsaved:
            return True
        try:
            while self._deletions:
                sender_id, asked_at = next(iter(self._deletions.items()))
                self._delete_stored(sender_id, before=asked_at)
                del self._deletions[sender_id]
                self._deletion_file(sender_id).unlink(missing_ok=True)
            while self._unsaved:
                sender_id, waiting = next(iter(self._unsaved.items()))
                while waiting:
                    self._write(*waiting[0])
                    written = waiting.pop(0)[0]
                if self._handed_out.get(sender_id) is not None:
                    # A turn in progress holds a copy: its events up to here are stored now.
                    self._stored_counts[sender_id] = (self._handed_out.pop(sender_id), len(written.events))
                del self._unsaved[sender_id]
                logger.info("A conversation kept in memory while the database was down is now stored.")
        except sa.exc.SQLAlchemyError:
            return False
        except Exception:  # noqa: BLE001 - one bad row must not stop every later message
            logger.exception("Writing what waited for the conversation database failed")
            return False
        return True

    def _retry_later(self) -> None:
        """Tries again every `retry_seconds` until nothing waits, so that what waits is written
        (and deletions done) soon after the database is back, not at the next message."""
        if self._retrying:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not serving: the next message tries again

        async def retry() -> None:
            try:
                while not self.write_unsaved():
                    await asyncio.sleep(self._retry_seconds)
            finally:
                self._retrying = False

        self._retrying = True
        loop.create_task(retry())

    def _write(self, tracker: DialogueStateTracker, stored: int) -> None:
        """Writes the tracker's events after the first `stored` (those the database holds)."""
        with self.session_scope() as session:
            for event in itertools.islice(tracker.events, stored, len(tracker.events)):
                session.add(self.event_row(tracker.sender_id, event))
            session.commit()

    def event_row(self, sender_id: Text, event: Any) -> Any:
        """The database row of one event, as Rasa 3.6's SQLTrackerStore.save writes it."""
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
            action_name=data.get("name"),
            data=json.dumps(data),
        )

    def _additional_events(self, session, tracker: DialogueStateTracker):
        # The count checked when this very tracker was read saves counting again
        # (threshold/rasa_overrides.py, 4).
        read_as, stored = self._stored_counts.pop(tracker.sender_id, (None, None))
        return rasa_overrides.events_not_stored_yet(
            self, session, tracker, stored if read_as == id(tracker) else None
        )

    def forget(self, sender_id: Text) -> int:
        """Deletes every stored event of a conversation, in one transaction; returns how many.
        SQLite overwrites the deleted rows (secure_delete) and empties its write-ahead log.
        While the database is down, the copies in memory go now and the deletion waits for the
        database, written down so that a restart still carries it out."""
        self._recent.pop(sender_id, None)
        self._stored_counts.pop(sender_id, None)
        self._unsaved.pop(sender_id, None)
        self._handed_out.pop(sender_id, None)
        try:
            deleted = self._delete_stored(sender_id)
        except sa.exc.SQLAlchemyError:
            request = {"sender_id": sender_id, "asked_at": time.time()}
            self._deletions[sender_id] = request["asked_at"]
            try:
                self._pending_deletions.mkdir(parents=True, exist_ok=True)
                self._deletion_file(sender_id).write_text(json.dumps(request), encoding="utf-8")
            except OSError as error:
                logger.error(
                    "A deletion could not be written down in %s (%s): it waits in memory only.",
                    self._pending_deletions,
                    error.strerror,
                )
            logger.warning("The database is down: a conversation will be deleted as soon as it is back.")
            self._retry_later()
            return 0
        logger.info("A conversation was deleted at the person's request (%d events).", deleted)
        return deleted

    def _delete_stored(self, sender_id: Text, before: Optional[float] = None) -> int:
        """Deletes a conversation's stored events (those up to `before`, a time, when given:
        what was said after a deletion request is a new conversation)."""
        with self.session_scope() as session:
            query = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id)
            if before is not None:
                query = query.filter(self.SQLEvent.timestamp <= before)
            deleted = query.delete()
            session.commit()
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    async def save(self, tracker: DialogueStateTracker) -> None:
        if asked_to_forget(tracker):
            # The turn that confirms the deletion is not stored (nor sent to an event
            # broker): everything goes at once.
            self.forget(tracker.sender_id)
            return
        self.write_unsaved()
        if tracker.sender_id in self._unsaved or tracker.sender_id in self._deletions:
            # Earlier turns still wait for the database: this one waits behind them.
            self._keep_unsaved(tracker)
            return
        # Saving uses up the count taken when the tracker was read (_additional_events).
        read = self._stored_counts.get(tracker.sender_id)
        try:
            await super().save(tracker)
        except sa.exc.SQLAlchemyError as error:
            reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
            logger.error("The conversation database is down (%s): the conversation is kept in memory", reason)
            if read is not None:
                self._stored_counts[tracker.sender_id] = read
            self._keep_unsaved(tracker)
            self._retry_later()
            return
        if not self._recent_limit:
            return
        self._recent.pop(tracker.sender_id, None)
        try:
            stamp = self.stored_stamp(tracker.sender_id)
        except sa.exc.SQLAlchemyError:
            return  # stored; the copy in memory is not kept, so the next message reads it again
        if not tracker.events or stamp[2] != tracker.events[-1].timestamp:
            return  # another server wrote after this tracker's last event: read it again next time
        now = time.monotonic()
        self._recent[tracker.sender_id] = (tracker, now, stamp)
        while self._recent and (
            len(self._recent) > self._recent_limit
            or now - next(iter(self._recent.values()))[1] >= self._recent_seconds
        ):
            self._recent.popitem(last=False)

    def _deletion_file(self, sender_id: Text) -> Path:
        return self._pending_deletions / f"{hashlib.sha256(sender_id.encode('utf-8')).hexdigest()}.json"

    def _written_down_deletions(self) -> dict:
        """The deletions a previous run wrote down and could not carry out."""
        found = {}
        for request in sorted(self._pending_deletions.glob("*.json")):
            try:
                asked = json.loads(request.read_text(encoding="utf-8"))
                found[str(asked["sender_id"])] = float(asked["asked_at"])
            except (OSError, ValueError, KeyError, TypeError):
                logger.error("An unreadable deletion request was left in place: %s", request)
        return found

    async def retrieve_full_tracker(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        unsaved = self._unsaved.get(sender_id)
        if unsaved is not None:
            # The database is down (GET /conversations/<id>/tracker): what waits, as it stands.
            return copy.deepcopy(unsaved[-1][0])
        return await super().retrieve_full_tracker(sender_id)

    def _keep_unsaved(self, tracker: DialogueStateTracker) -> None:
        """Keeps a conversation the database did not take, with how many of its events it holds:
        those counted when it was read, none for one begun while the database was down."""
        waiting = self._unsaved.pop(tracker.sender_id, [])
        handed_out = self._handed_out.pop(tracker.sender_id, None)
        if waiting and (waiting[-1][0] is tracker or handed_out == id(tracker)):
            waiting[-1] = (tracker, waiting[-1][1])
        else:
            read_as, stored = self._stored_counts.get(tracker.sender_id, (None, None))
            waiting.append((tracker, stored if read_as == id(tracker) and stored is not None else 0))
        self._stored_counts.pop(tracker.sender_id, None)
        self._recent.pop(tracker.sender_id, None)
        self._unsaved[tracker.sender_id] = waiting
