"""Start Rasa's server as `make run` needs it: python -m threshold.rasa_server run [rasa run's options].

- The HTTP API's token comes from THRESHOLD_API_TOKEN in the environment, never from the
  command line, where anyone on the machine could read it with `ps`. Without it the HTTP
  API stays off.
- `/version` needs the token too (threshold/rasa_overrides.py).
- A bounded queue: when more than THRESHOLD_MAX_QUEUE connections (64 by default) wait
  for the server, a channel's webhook answers 503 with Retry-After at once. The listen
  backlog (SANIC_BACKLOG, which Rasa reads) is raised to 1024 unless set, so a flood gets
  that answer rather than reset connections.
- One server per conversation store unless a shared lock store is set: without
  `lock_store` of type redis in the endpoints file, start-up stops when SANIC_WORKERS
  asks for several workers, or when another server already uses the same store
  (threshold.tracker_store.claim_store_for_one_server).
"""

import os
import sys
from typing import List, Mapping, Optional, Text

API_TOKEN_ENV = "THRESHOLD_API_TOKEN"
MAX_QUEUE_ENV = "THRESHOLD_MAX_QUEUE"
DEFAULT_MAX_QUEUE = 64
BACKLOG_ENV = "SANIC_BACKLOG"
DEFAULT_BACKLOG = "1024"
WORKERS_ENV = "SANIC_WORKERS"
SHARED_LOCK_STORES = ("redis",)
LOCK_STORE_ADVICE = (
    "set a shared lock store for every server in the endpoints file "
    '(lock_store: type: redis, with url and port; see README, "Growing past one machine")'
)

# This server's claim on the conversation store, kept for the life of the process.
_store_claim = None


class ServerSettingsError(ValueError):
    """A server setting is wrong or given the wrong way; the message names it."""


def max_queue(environ: Mapping[Text, Text]) -> int:
    value = environ.get(MAX_QUEUE_ENV, "").strip() or str(DEFAULT_MAX_QUEUE)
    if not value.isdigit() or int(value) < 1:
        raise ServerSettingsError(f"{MAX_QUEUE_ENV} must be a whole number of at least 1, not {value!r}")
    return int(value)


def rasa_arguments(arguments: List[Text], environ: Mapping[Text, Text]) -> List[Text]:
    """`rasa` arguments, with the HTTP API turned on behind the token when one is set."""
    if "--auth-token" in arguments or "--enable-api" in arguments:
        raise ServerSettingsError(f"set the HTTP API's token in {API_TOKEN_ENV}, not on the command line")
    token = environ.get(API_TOKEN_ENV, "").strip()
    return arguments + (["--enable-api", "--auth-token", token] if token else [])


def endpoints_file(arguments: List[Text]) -> Text:
    for index, argument in enumerate(arguments):
        if argument == "--endpoints" and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith("--endpoints="):
            return argument.split("=", 1)[1]
    return "endpoints.yml"


def keep_to_one_server(arguments: List[Text], environ: Mapping[Text, Text]) -> None:
    """Without a shared lock store, this must be the only server on its conversation store."""
    import sqlalchemy as sa
    from rasa.utils.endpoints import read_endpoint_config

    from threshold import tracker_store

    path = endpoints_file(arguments)
    lock_store = read_endpoint_config(path, "lock_store")
    if lock_store is not None and str(lock_store.type).lower() in SHARED_LOCK_STORES:
        return
    workers = environ.get(WORKERS_ENV, "").strip() or "1"
    if workers != "1":
        raise ServerSettingsError(
            f"{WORKERS_ENV}={workers} runs several workers on one conversation store without a shared "
            f"lock store, so two of them could answer one conversation at once: {LOCK_STORE_ADVICE}, "
            f"or unset {WORKERS_ENV}"
        )
    store = read_endpoint_config(path, "tracker_store")
    if (
        store is None
        or store.type != f"{tracker_store.__name__}.{tracker_store.ClinicSQLTrackerStore.__name__}"
    ):
        return  # conversations in this process's memory: nothing shared to protect
    settings = tracker_store.settings_from_environment(host=store.url, **store.kwargs)
    global _store_claim
    try:
        _store_claim = tracker_store.claim_store_for_one_server(settings)
    except tracker_store.TrackerStoreUnavailable as unavailable:
        raise ServerSettingsError(str(unavailable)) from None
    except (sa.exc.SQLAlchemyError, OSError) as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise ServerSettingsError(
            f"cannot check that this is the only server on the conversation store: {reason}"
        ) from None
    except tracker_store.StoreInUse as in_use:
        raise ServerSettingsError(
            f"another server already uses the conversation store ({in_use}) and there is no shared "
            f"lock store, so the two would answer one conversation without seeing each other: stop "
            f"the other server, or {LOCK_STORE_ADVICE}"
        ) from None


def main(argv: Optional[List[Text]] = None) -> None:
    arguments = sys.argv[1:] if argv is None else argv
    try:
        rasa_argv = rasa_arguments(arguments, os.environ)
        queue_limit = max_queue(os.environ)
    except ServerSettingsError as error:
        sys.exit(f"Cannot start the assistant: {error}")
    from rasa.__main__ import main as rasa_main
    from rasa.shared.exceptions import RasaException

    os.environ.setdefault(BACKLOG_ENV, DEFAULT_BACKLOG)
    try:
        # Stops on a Rasa version the overrides were not written for (UnsupportedRasaVersion).
        from threshold import rasa_overrides

        rasa_overrides.install_server_guards(queue_limit)
        keep_to_one_server(rasa_argv, os.environ)
    except (RasaException, ServerSettingsError) as error:
        sys.exit(f"Cannot start the assistant: {error}")
    # Only this process's copy of its arguments changes; `ps` keeps showing the original.
    sys.argv = ["rasa"] + rasa_argv
    rasa_main()


if __name__ == "__main__":
    main()
