"""Start Rasa's server as `make run` needs it: python -m threshold.rasa_server run [rasa run's options].

- The HTTP API's token comes from THRESHOLD_API_TOKEN in the environment, never from the
  command line, where anyone on the machine could read it with `ps`. Without it the HTTP
  API stays off.
- `/version` needs the token too (threshold/rasa_overrides.py).
- A bounded queue: when more than THRESHOLD_MAX_QUEUE connections (64 by default) wait
  for the server, a channel's webhook answers 503 with Retry-After at once. The listen
  backlog (SANIC_BACKLOG, which Rasa reads) is raised to 1024 unless set, so a flood gets
  that answer rather than reset connections.
"""

import os
import sys
from typing import List, Mapping, Optional, Text

API_TOKEN_ENV = "THRESHOLD_API_TOKEN"
MAX_QUEUE_ENV = "THRESHOLD_MAX_QUEUE"
DEFAULT_MAX_QUEUE = 64
BACKLOG_ENV = "SANIC_BACKLOG"
DEFAULT_BACKLOG = "1024"


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
    except RasaException as error:
        sys.exit(f"Cannot start the assistant: {error}")
    # Only this process's copy of its arguments changes; `ps` keeps showing the original.
    sys.argv = ["rasa"] + rasa_argv
    rasa_main()


if __name__ == "__main__":
    main()
