"""`make cluster`: the assistant as several Rasa server processes on one machine.

    .venv/bin/python scripts/cluster.py [--servers N]      # Ctrl-C stops everything it started

What runs, all on this machine (the same topology as deploy/compose.yml and the Helm values
in deploy/helm-values.yml, which a test checks against `plan()`):

    nginx on RASA_PORT (the port `make run` serves on) ──► N Rasa servers on 127.0.0.1
        (RASA_PORT+101...; default one per core)      ──► the action server on ACTIONS_PORT
    conversations: PostgreSQL, data in .cluster/postgres (kept between runs)
    lock store and the widget's socket.io rooms: Redis (nothing written to disk)
    the widget's demo page on WEB_PORT, talking to nginx

nginx hands out requests round robin; a widget's websocket stays on the process it
reached, so its conversation's cached copy is used (the REST webhook carries the
conversation id in its body, which nginx does not read: those requests spread). Every
process checks its cached copy against the database (threshold/tracker_store.py), the
Redis lock keeps one conversation's messages in order across processes, and the Redis
socket.io manager delivers a reply to whichever process holds the person's connection.
A request nginx cannot hand to a stopped process goes to the next one, and a process
that stops is started again (one that keeps stopping stops the cluster).

PostgreSQL, Redis and nginx come from Debian's packages (`bash .ci/run` installs them).
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from local_postgres import PostgresUnavailable, running_postgres, stop_postgres  # noqa: E402

from threshold.clinic_profile import process_profile, web_origins  # noqa: E402

# The cluster's own files: nginx's configuration, the kept PostgreSQL data, the session key.
STATE = Path(os.environ.get("CLUSTER_STATE_DIR") or ROOT / ".cluster").resolve()
VENV = ROOT / ".venv" / "bin"
MODEL = ROOT / "models" / "threshold.tar.gz"
ENDPOINTS = ROOT / "endpoints.cluster.yml"
NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
# Internal ports: the Rasa servers above RASA_PORT, out of the way of the public ones.
SERVER_PORT_OFFSET = 101
# A process that stops this many times within the window stops the cluster (it is started
# again after each earlier stop).
MAX_RESTARTS, RESTART_WINDOW = 3, 60.0
START_SECONDS = 300.0
INSTALL_HINT = "apt-get install -y redis-server nginx (or run `bash .ci/run`, which installs them)"


class ClusterError(RuntimeError):
    """Something the cluster needs is missing or did not start."""


# Each Rasa server process holds its model and the embedding model: about 0.9 GB.
SERVER_MEMORY_MB = 900


def default_servers() -> int:
    """One per core, as far as the memory this machine has free allows (at least one)."""
    try:
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        available_mb = int(fields["MemAvailable"].split()[0]) // 1024
    except (OSError, KeyError, ValueError):
        available_mb = SERVER_MEMORY_MB
    return max(1, min(os.cpu_count() or 1, available_mb // SERVER_MEMORY_MB, 32))


@dataclass
class Service:
    name: str
    argv: List[str]
    port: int
    env: Dict[str, str] = field(default_factory=dict)
    # Where it listens, to check that it does.
    host: str = "127.0.0.1"


@dataclass
class Settings:
    servers: int
    rasa_port: int = 5005
    actions_port: int = 5055
    web_port: int = 8080
    redis_port: int = 6390
    db_port: int = 5440
    bind_address: str = "127.0.0.1"

    @classmethod
    def from_environment(cls, servers: Optional[int] = None, environ=os.environ) -> "Settings":
        def port(name: str, default: int) -> int:
            value = environ.get(name) or str(default)
            if not value.isdigit() or not 0 < int(value) < 65536:
                raise ClusterError(f"{name} must be a port number, not '{value}'")
            return int(value)

        if servers is None:
            value = (environ.get("CLUSTER_SERVERS") or "").strip()
            if value and not value.isdigit():
                raise ClusterError(f"CLUSTER_SERVERS must be a number of server processes, not '{value}'")
            servers = int(value) if value else default_servers()
        count = servers
        if not 1 <= count <= 32:
            raise ClusterError(f"the number of Rasa servers must be 1 to 32, not {count}")
        return cls(
            servers=count,
            rasa_port=port("RASA_PORT", 5005),
            actions_port=port("ACTIONS_PORT", 5055),
            web_port=port("WEB_PORT", 8080),
            redis_port=port("REDIS_PORT", 6390),
            db_port=port("CLUSTER_DB_PORT", 5440),
            bind_address=environ.get("BIND_ADDRESS") or "127.0.0.1",
        )

    def check_ports(self) -> None:
        if max(self.server_ports) > 65535:
            raise ClusterError(f"RASA_PORT {self.rasa_port} leaves no room for the servers' ports above it")
        # Two roles on one port would start, then fail with "already in use" by our own process.
        roles: Dict[int, str] = {}
        named = [
            ("RASA_PORT", self.rasa_port),
            ("ACTIONS_PORT", self.actions_port),
            ("WEB_PORT", self.web_port),
            ("REDIS_PORT", self.redis_port),
            ("CLUSTER_DB_PORT", self.db_port),
        ]
        named += [
            (f"Rasa server {index} (RASA_PORT + {SERVER_PORT_OFFSET + index - 1})", port)
            for index, port in enumerate(self.server_ports, start=1)
        ]
        for role, port in named:
            if port in roles:
                raise ClusterError(f"{role} and {roles[port]} are both port {port}; choose different ports")
            roles[port] = role

    @property
    def public_host(self) -> str:
        """The address to reach nginx and the page server at (every interface: this machine)."""
        return "127.0.0.1" if self.bind_address in ("0.0.0.0", "::") else self.bind_address

    @property
    def server_ports(self) -> List[int]:
        return [self.rasa_port + SERVER_PORT_OFFSET + index for index in range(self.servers)]


def free_ports(servers: int, free_port) -> Dict[str, int]:
    """Free ports for every role of a cluster of `servers` Rasa servers, no two the same and none
    one of the servers' ports above RASA_PORT (for the tests and the benchmark). `free_port`
    returns a port free now; two of its calls may return the same one."""
    for _ in range(50):
        rasa_port = free_port()
        taken = {rasa_port} | {rasa_port + SERVER_PORT_OFFSET + i for i in range(servers)}
        if max(taken) > 65535 or any(port_open(port) for port in taken - {rasa_port}):
            continue
        ports = {"RASA_PORT": rasa_port}
        for name in ("ACTIONS_PORT", "WEB_PORT", "REDIS_PORT", "CLUSTER_DB_PORT"):
            ports[name] = next((p for p in (free_port() for _ in range(100)) if p not in taken), None)
            if ports[name] is None:
                break
            taken.add(ports[name])
        else:
            return ports
    raise ClusterError("no free ports for the cluster")


def shared_environment(
    settings: Settings, redis_host: str = "127.0.0.1", redis_password: str = ""
) -> Dict[str, str]:
    """What every Rasa server and the action server of the cluster are given."""
    login = f":{redis_password}@" if redis_password else ""
    return {
        "RASA_TELEMETRY_ENABLED": "false",
        "ACTIONS_HOST": "127.0.0.1",
        "ACTIONS_PORT": str(settings.actions_port),
        "REDIS_HOST": redis_host,
        "REDIS_PORT": str(settings.redis_port),
        # socket.io's Redis messages are unpickled by every server: Redis needs a password.
        "REDIS_PASSWORD": redis_password,
        "THRESHOLD_SOCKETIO_REDIS_URL": f"redis://{login}{redis_host}:{settings.redis_port}/2",
        "THRESHOLD_DEMO_PAGE_PORT": str(settings.web_port),
    }


def rasa_server_argv(port: int, interface: str = "127.0.0.1", model: str = str(MODEL)) -> List[str]:
    """The command of one Rasa server process; the same in the image (Dockerfile)."""
    return [
        "python",
        "-m",
        "threshold.rasa_server",
        "run",
        "--model",
        model,
        "--endpoints",
        "endpoints.cluster.yml",
        "--credentials",
        "credentials.yml",
        "--interface",
        interface,
        "--port",
        str(port),
    ]


def program(name: str) -> str:
    """A Debian program's path: nginx is in /usr/sbin, which a user's PATH may not hold."""
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    if found is None:
        raise ClusterError(f"{name} is missing: {INSTALL_HINT}")
    return found


def plan(settings: Settings, redis_password: str = "", redis_config: Optional[Path] = None) -> List[Service]:
    """Every process of the cluster, in the order they start (PostgreSQL is started first,
    by running_postgres). The Redis password is in `redis_config`, not on a command line."""
    env = shared_environment(settings, redis_password=redis_password)
    services = [
        Service(
            "redis",
            [
                program("redis-server") if redis_config else "redis-server",
                *([str(redis_config)] if redis_config else []),
                "--bind",
                "127.0.0.1",
                "--port",
                str(settings.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            settings.redis_port,
        ),
        Service(
            "action server",
            [
                str(VENV / "rasa"),
                "run",
                "actions",
                "--actions",
                "actions",
                "--port",
                str(settings.actions_port),
            ],
            settings.actions_port,
            {**env, "SANIC_HOST": "127.0.0.1"},
        ),
    ]
    # Browsers may call the servers only from the clinic's origins and the demo page's, as
    # with `make run`; the widget's own origin check is in its channel.
    origins = web_origins(process_profile(), env)
    cors = ["--cors", *origins] if origins else []
    for index, port in enumerate(settings.server_ports, start=1):
        argv = rasa_server_argv(port)
        services.append(Service(f"Rasa server {index}", [str(VENV / "python"), *argv[1:], *cors], port, env))
    services.append(
        Service(
            "nginx",
            [
                program("nginx") if redis_config else "nginx",
                "-p",
                str(STATE / "nginx"),
                "-e",
                str(STATE / "nginx" / "logs" / "error.log"),
                "-c",
                str(STATE / "nginx" / "nginx.conf"),
                "-g",
                "daemon off;",
            ],
            settings.rasa_port,
            host=settings.public_host,
        )
    )
    services.append(
        Service(
            "web page server",
            [
                str(VENV / "python"),
                "-m",
                "threshold.web",
                "--host",
                settings.bind_address,
                "--port",
                str(settings.web_port),
                "--rasa-port",
                str(settings.rasa_port),
            ],
            settings.web_port,
            env,
            host=settings.public_host,
        )
    )
    return services


def render_nginx(
    upstreams: List[str], listen: str, state: str, user: str = "", template: Path = NGINX_TEMPLATE
) -> str:
    """deploy/nginx.conf.template filled in: the Rasa servers (host:port), where nginx listens,
    the folder for its pid, log and buffers, and the `user` line for a master run as root."""
    servers = "\n".join(f"        server {upstream} max_fails=1 fail_timeout=5s;" for upstream in upstreams)
    return (
        template.read_text(encoding="utf-8")
        .replace("{user}", user)
        .replace("{listen}", listen)
        .replace("{upstream_servers}", servers)
        .replace("{state}", state)
    )


def nginx_config(settings: Settings) -> str:
    """The cluster's nginx configuration on this machine."""
    return render_nginx(
        [f"127.0.0.1:{port}" for port in settings.server_ports],
        f"{settings.bind_address}:{settings.rasa_port}",
        str(STATE / "nginx"),
        "user www-data;" if os.geteuid() == 0 else "",
    )


# deploy/compose.yml's nginx: the same template, the Rasa servers found by their service name.
COMPOSE_NGINX = ROOT / "deploy" / "nginx.compose.conf"


def compose_nginx_config() -> str:
    return render_nginx(["rasa:5005"], "0.0.0.0:5005", "/tmp/nginx", "")


def kept_secret(name: str, environment_name: str = "") -> str:
    """A random secret kept in the state folder (created readable by its owner only), unless
    the environment gives it."""
    if environment_name and os.environ.get(environment_name):
        return os.environ[environment_name]
    path = STATE / name
    if not path.exists():
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def session_secret() -> str:
    """The key that signs the widget's conversation ids: the same in every process (or a
    widget id issued by one would be refused by another), kept between runs."""
    return kept_secret("session_secret", "THRESHOLD_SESSION_SECRET")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def check_programs() -> None:
    for name in ("redis-server", "nginx"):
        program(name)
    if not MODEL.exists():
        raise ClusterError("no trained model: run `make train` first")


class Cluster:
    def __init__(self, settings: Settings, extra_env: Dict[str, str]) -> None:
        self.settings = settings
        self.extra_env = extra_env
        self.processes: List[tuple] = []

    def spawn_all(self, services: List[Service]) -> None:
        """Starts `services` together and waits until each listens (the Rasa servers load
        their model side by side)."""
        started = []
        for service in services:
            if port_open(service.port, service.host):
                raise ClusterError(
                    f"port {service.port} ({service.name}) is already in use by another program; stop it "
                    "or choose other ports (RASA_PORT, ACTIONS_PORT, WEB_PORT, REDIS_PORT, CLUSTER_DB_PORT)"
                )
            log_path = ROOT / "logs" / f"cluster-{service.name.replace(' ', '-')}.log"
            service.env = {**self.extra_env, **service.env}
            process = self.spawn(service, log_path)
            self.processes.append((service, process, log_path))
            started.append((service, process, log_path))
        self.write_pids()
        deadline = time.monotonic() + START_SECONDS
        for service, process, log_path in started:
            while not port_open(service.port, service.host):
                if process.poll() is not None:
                    tail = log_path.read_text(errors="replace").splitlines()[-5:]
                    raise ClusterError(f"{service.name} stopped at start-up:\n" + "\n".join(tail))
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"{service.name} did not start within {START_SECONDS:.0f} s (see {log_path})"
                    )
                time.sleep(0.3)
            print(f"  {service.name}: listening on port {service.port}", flush=True)

    @staticmethod
    def spawn(service: Service, log_path: Path) -> subprocess.Popen:
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                service.argv,
                cwd=ROOT,
                env={**os.environ, **service.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def write_pids(self) -> None:
        """state/pids.json: each process's id by name, for an operator (or a test) to find one."""
        pids = {service.name: process.pid for service, process, _ in self.processes}
        (STATE / "pids.json").write_text(json.dumps(pids, indent=2))

    def stop(self) -> None:
        for _, process, _ in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process, _ in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes = []
        (STATE / "pids.json").unlink(missing_ok=True)

    def watch(self) -> int:
        """Restarts a process that stops, so the others carry on (a Rasa server's requests go to
        the other servers meanwhile); one that stops again and again stops the cluster."""
        restarts: Dict[str, List[float]] = {}
        while True:
            for index, (service, process, log_path) in enumerate(self.processes):
                if process.poll() is None:
                    continue
                recent = [t for t in restarts.get(service.name, []) if time.monotonic() - t < RESTART_WINDOW]
                if len(recent) + 1 >= MAX_RESTARTS:
                    print(
                        f"{service.name} stopped {MAX_RESTARTS} times within {RESTART_WINDOW:.0f} s "
                        f"(log: {log_path}); stopping the cluster.",
                        file=sys.stderr,
                        flush=True,
                    )
                    return process.returncode or 1
                restarts[service.name] = recent + [time.monotonic()]
                print(
                    f"{service.name} stopped (exit status {process.returncode}; log: {log_path}); "
                    "starting it again.",
                    file=sys.stderr,
                    flush=True,
                )
                self.processes[index] = (service, self.spawn(service, log_path), log_path)
                self.write_pids()
            time.sleep(0.5)


def stop_leftovers() -> None:
    """Processes a cluster left behind when it was killed outright (pids.json), and its
    PostgreSQL server: stopped before starting again, so no port is taken by them."""
    pids = STATE / "pids.json"
    if pids.exists():
        for pid in json.loads(pids.read_text() or "{}").values():
            try:
                os.killpg(int(pid), signal.SIGTERM)
            except (ProcessLookupError, PermissionError, ValueError):
                pass
        pids.unlink()
    data = STATE / "postgres" / "data"
    if (data / "postmaster.pid").exists():
        stop_postgres(str(data))


def stop_on_signal(*_) -> None:
    raise KeyboardInterrupt


def run(settings: Settings) -> int:
    settings.check_ports()
    check_programs()
    for folder in (STATE / "nginx" / "logs", STATE / "nginx" / "tmp", ROOT / "logs"):
        folder.mkdir(parents=True, exist_ok=True)
    stop_leftovers()
    (STATE / "nginx" / "nginx.conf").write_text(nginx_config(settings))
    redis_password = kept_secret("redis_password")
    redis_config = STATE / "redis.conf"
    with open(os.open(redis_config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(f"requirepass {redis_password}\n")
    db_password = kept_secret("db_password")
    print(f"Starting {settings.servers} Rasa server processes behind nginx on port {settings.rasa_port}.")
    # Ctrl-C, a stop request or a closed terminal: stop everything this started. SIGINT too,
    # because a program started from a script's background job inherits it ignored.
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, stop_on_signal)
    with running_postgres(
        port=settings.db_port, keep_in=str(STATE / "postgres"), password=db_password
    ) as database:
        print(
            f"  PostgreSQL: listening on 127.0.0.1:{settings.db_port}, database "
            f"{database['THRESHOLD_DB_NAME']}, user {database['THRESHOLD_DB_USER']}, password in "
            f"{STATE / 'db_password'} (data in {STATE / 'postgres'})",
            flush=True,
        )
        cluster = Cluster(settings, {**database, "THRESHOLD_SESSION_SECRET": session_secret()})
        services = plan(settings, redis_password, redis_config)
        servers = [s for s in services if s.name.startswith("Rasa server")]
        try:
            for group in (services[:2], servers, [s for s in services[2:] if s not in servers]):
                cluster.spawn_all(group)
            print(
                f"Ready: the assistant on http://{settings.bind_address}:{settings.rasa_port}, the widget's "
                f"demo page on http://{settings.bind_address}:{settings.web_port}. Ctrl-C stops everything.",
                flush=True,
            )
            return cluster.watch()
        except KeyboardInterrupt:
            return 0
        finally:
            # A second Ctrl-C must not leave half the cluster running.
            for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(stop_signal, signal.SIG_IGN)
            print("Stopping the cluster...", flush=True)
            cluster.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--servers", type=int, help="Rasa server processes (default: CLUSTER_SERVERS or one per core)"
    )
    parser.add_argument(
        "--write-compose-nginx", action="store_true", help=f"write {COMPOSE_NGINX.name} and stop"
    )
    args = parser.parse_args(argv)
    if args.write_compose_nginx:
        COMPOSE_NGINX.write_text(compose_nginx_config(), encoding="utf-8")
        return 0
    try:
        return run(Settings.from_environment(args.servers))
    except (ClusterError, PostgresUnavailable) as error:
        print(f"make cluster: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
