"""Every change this project makes to Rasa's internals, in one place.

Written for Rasa Open Source 3.6.21 (WRITTEN_FOR_RASA). Each override names
what it replaces and why. Importing this module, and installing each override,
checks the installed Rasa first (`check_rasa_version()`): on any other version,
where these internals may have moved or changed meaning, start-up stops with
UnsupportedRasaVersion until the overrides have been reviewed for that version.

1. The action client (rasa.core.actions.action): Rasa 3.6 waits up to five
   minutes for the action server, and checks every answer with
   `jsonschema.validate`, which first checks the schema itself: a profile of the
   server on exercise turns put half of its time there. `configure_action_client`
   sets a shorter timeout and a schema compiled once.
2. The crisis reminder (rasa.core.processor.MessageProcessor._log_action_on_tracker):
   once a conversation has shown risk, every later reply must carry the crisis
   line, whatever produced it (a rule's response, a custom action's text). Rasa
   has no hook between an action's messages and their sending, so the
   processor's step that logs an action's events adds the reminder to each bot
   message without the crisis line, before the same events are stored and sent.
3. The server app (rasa.core.run.configure_app), for `python -m threshold.rasa_server`:
   - a bounded queue: Rasa handles a message without yielding to the event loop,
     so under a flood the server holds one or two connections at a time and the
     rest wait in the kernel's accept queue or as accepted connections not yet
     read; every person waits many seconds and, past the listen backlog,
     connections are reset. When more than `max_queue` connections wait in the
     two together, a channel's webhook answers 503 with
     Retry-After at once (well under a millisecond, so the queue drains fast):
     Telegram and Slack deliver again later, a REST client is told when to retry,
     and nothing acknowledged is lost. The kernel's part is the listening
     socket's accept backlog, which Linux shows in /proc/net/tcp (rx_queue);
   - `/version` answers anyone in Rasa 3.6, even when the rest of the HTTP API needs
     the token; here it needs the token too.
4. Channels and the store: what the project's subclasses need from Rasa's classes
   beyond their public methods, each as one function here that the subclass calls:
   - `telegram_output_for_server`: Rasa's TelegramOutput always talks to
     api.telegram.org; the Telegram channel needs another Bot API server (a local
     one, or the tests' stand-in), so it builds the aiogram Bot underneath itself;
   - `slack_client_for_server`: Rasa's SlackBot builds its Slack client with no
     address to choose; the Slack channel replaces it to send to THRESHOLD_SLACK_API_URL;
   - `socketio_blueprint`: Rasa's SocketIOInput builds its socket.io server itself,
     with no allowed origins and no room for a client manager; the website channel
     builds its own server and mounts it with Rasa's SocketBlueprint;
   - `events_not_stored_yet`: Rasa's SQL store counts the stored events of a
     conversation again before every save (`SQLTrackerStore._additional_events`); the
     project's store already knows the count and passes it in.
   - `check_connections_before_use`: Rasa's SQL store uses its pooled PostgreSQL
     connections unchecked, so after a database restart the next messages were answered
     from an empty conversation and not stored; the store's engine checks each
     connection before use.
"""

import functools
import hmac
import inspect
import itertools
import logging
import time
from typing import Any, Dict, List, Optional, Text, Tuple

import rasa
from rasa.shared.exceptions import RasaException

# The Rasa release every override below was read against, and the one requirements.txt pins.
WRITTEN_FOR_RASA = "3.6.21"


class UnsupportedRasaVersion(RasaException, RuntimeError):
    """The installed Rasa is not the version these overrides were written for."""


def check_rasa_version(version: Optional[Text] = None) -> None:
    """Stops with UnsupportedRasaVersion unless `version` (the installed Rasa's, by
    default) is the one the overrides were written for."""
    version = rasa.__version__ if version is None else version
    if version != WRITTEN_FOR_RASA:
        raise UnsupportedRasaVersion(
            f"Threshold's overrides of Rasa internals were written for Rasa {WRITTEN_FOR_RASA}, "
            f"but Rasa {version} is installed: the overrides in threshold/rasa_overrides.py must be "
            f"reviewed for Rasa {version} (then set WRITTEN_FOR_RASA there), or install the pinned "
            f"Rasa {WRITTEN_FOR_RASA} with `make setup`."
        )


# Before anything below touches Rasa's internals, which another version may lack.
check_rasa_version()

import rasa.core.actions.action as rasa_actions  # noqa: E402
import rasa.core.run as rasa_run  # noqa: E402
from jsonschema import exceptions, validators  # noqa: E402
from rasa.core.processor import MessageProcessor  # noqa: E402
from rasa.shared.core.events import BotUttered, SlotSet  # noqa: E402
from sanic import Sanic, response  # noqa: E402
from sanic.request import Request  # noqa: E402

logger = logging.getLogger(__name__)

CRISIS_SLOT = "in_crisis"
REMINDER_RESPONSE = "utter_crisis_reminder"
# Values of the clinic profile that count as "the crisis line" in a reply.
CRISIS_LINE_VALUES = ("crisis_line", "crisis_line_es")


# 1. The action client ----------------------------------------------------------


@functools.lru_cache(maxsize=1)
def response_validator():
    schema = rasa_actions.RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self, result: Dict[Text, Any]) -> bool:
    """Rasa's check of an action server answer, with the compiled schema."""
    error = exceptions.best_match(response_validator().iter_errors(result))
    if error is not None:
        error.message += ". Failed to validate Action server response from API."
        raise error
    return True


def configure_action_client(timeout_seconds: float) -> None:
    check_rasa_version()
    rasa_actions.DEFAULT_REQUEST_TIMEOUT = timeout_seconds
    rasa_actions.RemoteAction._validate_action_result = validate_action_result


# 2. The crisis reminder -----------------------------------------------------------


def shows_risk(tracker, events: List[Any], prediction_events: List[Any]) -> bool:
    for event in list(prediction_events or []) + list(events):
        if isinstance(event, SlotSet) and event.key == CRISIS_SLOT:
            return bool(event.value)
    return bool(tracker.get_slot(CRISIS_SLOT))


def add_crisis_reminders(events: List[Any], tracker, nlg, prediction_events=None) -> None:
    """Give every bot message in `events` the crisis line, once the conversation has shown risk."""
    if not any(isinstance(e, BotUttered) for e in events) or not shows_risk(
        tracker, events, prediction_events
    ):
        return
    values = getattr(nlg, "clinic_values", None)
    if not values:
        return
    lines = [values[key] for key in CRISIS_LINE_VALUES if values.get(key)]
    reminder: Optional[Text] = None
    for index, event in enumerate(events):
        if not isinstance(event, BotUttered) or any(line in (event.text or "") for line in lines):
            continue
        if reminder is None:
            channel = tracker.get_latest_input_channel()
            generated = (
                nlg.generate_from_slots(REMINDER_RESPONSE, tracker.current_slot_values(), channel) or {}
            )
            reminder = generated.get("text")
            if not reminder:
                logger.error(
                    "The %s response is missing: a reply after a crisis has no crisis line", REMINDER_RESPONSE
                )
                return
        text = f"{event.text}\n\n{reminder}" if event.text else reminder
        events[index] = BotUttered(text, event.data, event.metadata, event.timestamp)


_original_log_action = MessageProcessor._log_action_on_tracker


def _log_action_with_reminders(self, tracker, action, events, prediction):
    if events:
        add_crisis_reminders(events, tracker, self.nlg, getattr(prediction, "events", None))
    return _original_log_action(self, tracker, action, events, prediction)


def install_crisis_reminder() -> None:
    check_rasa_version()
    MessageProcessor._log_action_on_tracker = _log_action_with_reminders


# 3. The server app ------------------------------------------------------------------

WEBHOOKS_PATH = "/webhooks/"
RETRY_AFTER_SECONDS = 2
_LISTENING = "0A"


class AcceptQueue:
    """How many connections wait for this server to accept them, read from the kernel
    at most every `every` seconds (a read costs about a millisecond under a flood)."""

    def __init__(
        self, port: int, every: float = 0.05, tables: Tuple[Text, ...] = ("/proc/net/tcp", "/proc/net/tcp6")
    ) -> None:
        self.port, self.every, self.tables = port, every, tables
        self.read_at, self.value = float("-inf"), 0

    def length(self) -> int:
        now = time.monotonic()
        if now - self.read_at >= self.every:
            self.value, self.read_at = self._read(), now
        return self.value

    def _read(self) -> int:
        waiting = 0
        for table in self.tables:
            try:
                with open(table) as handle:
                    rows = handle.read().splitlines()[1:]
            except OSError:  # not Linux: no bound, as in stock Rasa
                continue
            for row in rows:
                fields = row.split()
                if (
                    len(fields) > 4
                    and fields[3] == _LISTENING
                    and int(fields[1].rsplit(":", 1)[1], 16) == self.port
                ):
                    waiting += int(fields[4].split(":")[1], 16)
        return waiting


def waiting_in_process(request: Request) -> int:
    """Connections this process has accepted whose request is not answered yet (Sanic
    21.12: the protocol's `connections`, their receive buffer and stage), this one aside."""
    protocol = getattr(getattr(request, "stream", None), "protocol", None)
    waiting = 0
    for connection in getattr(protocol, "connections", ()):
        http = getattr(connection, "_http", None)
        stage = getattr(getattr(http, "stage", None), "name", "IDLE")
        if connection is not protocol and (getattr(connection, "recv_buffer", None) or stage != "IDLE"):
            waiting += 1
    return waiting


def shed_beyond_the_queue(app: Sanic, queue: AcceptQueue, max_queue: int) -> None:
    @app.middleware("request")
    async def refuse_when_the_queue_is_full(request: Request):
        if request.method != "POST" or not request.path.startswith(WEBHOOKS_PATH):
            return None
        if waiting_in_process(request) + queue.length() > max_queue:
            return response.json(
                {"error": "the assistant is busy; please send the message again in a few seconds"},
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        return None


def guard_version_route(app: Sanic, token: Text) -> None:
    @app.middleware("request")
    async def version_needs_the_token(request: Request):
        if request.path.rstrip("/") == "/version" and not hmac.compare_digest(
            (request.args.get("token") or "").encode(), token.encode()
        ):
            return response.json({"error": "missing or wrong token"}, status=401)
        return None


def install_server_guards(max_queue: int) -> None:
    check_rasa_version()
    original_configure_app = rasa_run.configure_app
    signature = inspect.signature(original_configure_app)

    @functools.wraps(original_configure_app)
    def configure_app(*args: Any, **kwargs: Any) -> Sanic:
        app = original_configure_app(*args, **kwargs)
        given = signature.bind(*args, **kwargs)
        given.apply_defaults()
        shed_beyond_the_queue(app, AcceptQueue(int(given.arguments["port"])), max_queue)
        if given.arguments["enable_api"] and given.arguments["auth_token"]:
            guard_version_route(app, given.arguments["auth_token"])
        return app

    rasa_run.configure_app = configure_app


# 4. Channels and the store ------------------------------------------------------------


def telegram_output_for_server(output: Any, access_token: Text, api_url: Optional[Text]) -> None:
    """Initialises a TelegramOutput subclass for the Bot API server at `api_url` (Rasa
    3.6's TelegramOutput.__init__ takes only the token and always uses Telegram's)."""
    check_rasa_version()
    from aiogram.bot.api import TelegramAPIServer
    from rasa.core.channels.telegram import TelegramOutput

    super(TelegramOutput, output).__init__(
        access_token, server=TelegramAPIServer.from_base(api_url or "https://api.telegram.org")
    )


def slack_client_for_server(bot: Any, token: Text, proxy: Optional[Text], api_url: Text) -> None:
    """Points a SlackBot at another Slack API address (Rasa 3.6 keeps its client in `client`)."""
    check_rasa_version()
    from slack_sdk.web.async_client import AsyncWebClient

    bot.client = AsyncWebClient(token, proxy=proxy, base_url=api_url.rstrip("/") + "/")


def socketio_blueprint(sio: Any, socketio_path: Text, name: Text, import_name: Text) -> Any:
    """Rasa 3.6's blueprint that attaches a socket.io server to the Sanic app."""
    check_rasa_version()
    from rasa.core.channels.socketio import SocketBlueprint

    return SocketBlueprint(sio, socketio_path, name, import_name)


def events_not_stored_yet(store: Any, session: Any, tracker: Any, stored: Optional[int]) -> Any:
    """The tracker's events that an SQL store has not saved: those after `stored` when
    the caller knows that count, else Rasa 3.6's own recount."""
    check_rasa_version()
    from rasa.core.tracker_store import SQLTrackerStore

    if stored is None or stored > len(tracker.events):
        return SQLTrackerStore._additional_events(store, session, tracker)
    return itertools.islice(tracker.events, stored, len(tracker.events))


def check_connections_before_use(store: Any) -> None:
    """Rasa 3.6's SQL store builds its engine with a pool of PostgreSQL connections that are
    used as they are. After the database restarts they are all dead: the next reads fail,
    Rasa's fail-safe store answers from an empty conversation in memory, and those messages
    are never stored. The store's engine is rebuilt with the same settings and
    `pool_pre_ping`, so a dead connection is replaced before it is used."""
    check_rasa_version()
    import sqlalchemy as sa
    from rasa.core.tracker_store import create_engine_kwargs

    url = store.engine.url
    store.engine.dispose()
    store.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
    store.sessionmaker = sa.orm.session.sessionmaker(bind=store.engine)
