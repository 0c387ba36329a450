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


def stop_postgres(data: str) -> None:
    """Stops the server of a data folder left running (its owner was killed outright)."""
    subprocess.run(
        _as_server_user([f"{bin_dir()}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def reachable_by_server_user(folder: str) -> bool:
    """As root, whether the `postgres` user can reach `folder` (a clone under /root cannot)."""
    if os.geteuid() != 0:
        return True
    parent = os.path.dirname(os.path.abspath(folder))
    return subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", parent]).returncode == 0


@contextmanager
def running_postgres(
    port: Optional[int] = None, keep_in: Optional[str] = None, password: Optional[str] = None
) -> Iterator[Dict[str, str]]:
    """Starts a server and yields the THRESHOLD_DB_* settings that reach it.

    With `keep_in`, the data lives in that folder and stays there when the server stops
    (`make cluster`: the conversations are kept between runs, and the server is durable), and
    logging in needs `password` (set when the data folder is first made); without it, in a
    temporary folder that is deleted, trusting connections from this machine."""
    if keep_in and not password:
        raise PostgresUnavailable("a kept database needs a password")
    if keep_in and not reachable_by_server_user(keep_in):
        raise PostgresUnavailable(
            f"the postgres user cannot reach {os.path.dirname(os.path.abspath(keep_in))}: choose a "
            "folder it can reach (for example CLUSTER_STATE_DIR=/var/lib/threshold-cluster)"
        )
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
            auth = ["--auth=trust"]
            if keep_in:
                # Conversations kept on disk: every login needs the password.
                password_file = os.path.join(folder, "initial_password")
                with open(
                    os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w"
                ) as handle:
                    handle.write(password)
                if os.geteuid() == 0:
                    shutil.chown(password_file, "postgres", "postgres")
                auth = ["--auth=scram-sha-256", f"--pwfile={password_file}"]
            try:
                subprocess.run(
                    _as_server_user(
                        [f"{programs}/initdb", "-D", data, "-U", USER, *auth, "-E", "UTF8", "--no-sync"]
                    ),
                    **run,
                )
            finally:
                if keep_in:
                    os.unlink(password_file)
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
                env={**os.environ, "PGPASSWORD": password or ""},
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
            "THRESHOLD_DB_PASSWORD": password or "unused-trust-auth",
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
