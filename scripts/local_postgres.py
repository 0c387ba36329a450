"""A throwaway PostgreSQL server from the Debian package, for tests and local runs.

    python scripts/local_postgres.py        # starts one, prints its settings, Ctrl-C stops it

The server lives in a temporary folder, listens on 127.0.0.1 only, trusts local
connections (nothing outside the machine can reach it) and is deleted when it stops.
PostgreSQL refuses to run as root; as root, it runs as the `postgres` user the
package creates.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Dict, Iterator, Optional

DATABASE = "threshold_conversations"
USER = "threshold"
INSTALL_HINT = "apt-get install -y postgresql (or run `bash .ci/run`, which installs it)"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server programs on this machine, or the server did not start."""


def bin_dir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise PostgresUnavailable(f"PostgreSQL's server programs are missing: {INSTALL_HINT}")
    return os.path.dirname(found[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(command: list) -> list:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def running_postgres(port: Optional[int] = None, keep_in: Optional[str] = None) -> Iterator[Dict[str, str]]:
    """Starts a server and yields the THRESHOLD_DB_* settings that reach it.

    With `keep_in`, the data lives in that folder and stays there when the server stops
    (`make cluster`: the conversations are kept between runs, and the server is durable);
    without it, in a temporary folder that is deleted."""
    programs = bin_dir()
    port = port or free_port()
    folder = os.path.abspath(keep_in) if keep_in else tempfile.mkdtemp(prefix="threshold-pg-")
    os.makedirs(folder, exist_ok=True)
    data = os.path.join(folder, "data")
    log = os.path.join(folder, "server.log")
    new_cluster = not os.path.exists(os.path.join(data, "PG_VERSION"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    run = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    try:
        if new_cluster:
            subprocess.run(
                _as_server_user(
                    [f"{programs}/initdb", "-D", data, "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"]
                ),
                **run,
            )
        # A throwaway server skips fsync for speed; a kept one must survive a power cut.
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1" + (
            "" if keep_in else " -c fsync=off"
        )
        subprocess.run(
            _as_server_user([f"{programs}/pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start"]),
            **run,
        )
        if new_cluster:
            subprocess.run(
                _as_server_user(
                    [f"{programs}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE]
                ),
                **run,
            )
    except subprocess.CalledProcessError as error:
        subprocess.run(
            _as_server_user([f"{programs}/pg_ctl", "-D", data, "-m", "immediate", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not keep_in:
            shutil.rmtree(folder, ignore_errors=True)
        raise PostgresUnavailable(
            f"PostgreSQL did not start: {error.stderr.decode(errors='replace')}"
        ) from None
    try:
        yield {
            "THRESHOLD_DB_DIALECT": "postgresql",
            "THRESHOLD_DB_HOST": "127.0.0.1",
            "THRESHOLD_DB_PORT": str(port),
            "THRESHOLD_DB_NAME": DATABASE,
            "THRESHOLD_DB_USER": USER,
            "THRESHOLD_DB_PASSWORD": "unused-trust-auth",
        }
    finally:
        subprocess.run(
            _as_server_user([f"{programs}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not keep_in:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    with running_postgres() as settings:
        for name, value in settings.items():
            print(f"export {name}={value}")
        print("PostgreSQL is running; Ctrl-C stops it and deletes its data.", file=sys.stderr)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
