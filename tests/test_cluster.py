"""`make cluster` (scripts/cluster.py): several Rasa server processes behind nginx, with
PostgreSQL and Redis from Debian's packages. The image, compose file and Helm values run
the same commands and settings; the running cluster answers through nginx, a widget reply
reaches a tab connected to the other process, a stopped Rasa server or Redis loses no
acknowledged message and is started again, and Ctrl-C stops everything it started."""

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import socketio
import sqlalchemy as sa
import yaml
from conftest import CRISIS_LINE, PROJECT_ROOT, VENV_BIN, free_port
from scripts_path import load_script

cluster = load_script("cluster")

DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()
MAKEFILE = (PROJECT_ROOT / "Makefile").read_text()
COMPOSE = yaml.safe_load((PROJECT_ROOT / "deploy" / "compose.yml").read_text())
HELM = yaml.safe_load((PROJECT_ROOT / "deploy" / "helm-values.yml").read_text())
IMAGE_MODEL = "models/threshold.tar.gz"
# The cluster's settings that name a host: in containers the hosts are service names.
HOST_SETTINGS = {"ACTIONS_HOST", "ACTIONS_PORT", "REDIS_HOST", "REDIS_PORT", "THRESHOLD_SOCKETIO_REDIS_URL"}
TOKEN = "cluster-test-token"
# A line only the transference answer has: its source.
TRANSFERENCE_SOURCE = next(
    line
    for line in yaml.safe_load((PROJECT_ROOT / "data" / "responses" / "article.yml").read_text())[
        "responses"
    ]["utter_answer_transference"][0]["text"].splitlines()
    if line.startswith("Source:")
)[:60]


def local_plan():
    return {service.name: service for service in cluster.plan(cluster.Settings(servers=2))}


def without_paths(argv):
    """A command as the image runs it: programs by name, not by this machine's venv path."""
    return [Path(argv[0]).name, *argv[1:]]


# The image, the compose file and the Helm values against the cluster's own plan.


def test_the_image_runs_each_rasa_server_as_the_cluster_does_with_telemetry_off():
    command = json.loads(re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.M).group(1))
    assert command == cluster.rasa_server_argv(5005, "0.0.0.0", model=IMAGE_MODEL)
    assert "RASA_TELEMETRY_ENABLED=false" in DOCKERFILE


def test_the_image_installs_and_builds_as_make_setup_does():
    for requirement in ("-r requirements.txt", "--no-deps --require-hashes -r requirements-nodeps.txt"):
        assert requirement in MAKEFILE and requirement in DOCKERFILE
    assert "pip==24.0" in MAKEFILE and "pip==24.0" in DOCKERFILE
    spacy_folder = re.search(r"^SPACY\s*:=\s*(\S+)", MAKEFILE, re.M).group(1)
    assert f"scripts/build_spacy_pipeline.py {spacy_folder}" in DOCKERFILE
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "*.db" in ignored and "models" not in ignored


def test_two_roles_on_one_port_are_refused_naming_both():
    settings = cluster.Settings(servers=2, rasa_port=40000)
    settings.check_ports()
    second_server = settings.server_ports[1]
    clashing = cluster.Settings(servers=2, rasa_port=40000, redis_port=second_server)
    with pytest.raises(cluster.ClusterError, match=f"both port {second_server}") as refused:
        clashing.check_ports()
    assert "REDIS_PORT" in str(refused.value) and "Rasa server 2" in str(refused.value)
    with pytest.raises(cluster.ClusterError, match="WEB_PORT and ACTIONS_PORT are both port 7000"):
        cluster.Settings(servers=1, actions_port=7000, web_port=7000).check_ports()


def test_a_local_rasa_server_runs_the_images_command_on_its_own_port():
    settings = cluster.Settings(servers=2)
    for index, port in enumerate(settings.server_ports, start=1):
        argv = without_paths(local_plan()[f"Rasa server {index}"].argv)
        expected = cluster.rasa_server_argv(port, "127.0.0.1")
        assert argv[: len(expected)] == expected
        # Browsers only from the clinic's origins, as `make run` passes them; never "*".
        assert "*" not in argv[len(expected) :]


def test_compose_runs_the_clusters_services_with_the_same_commands_and_settings():
    services, plan = COMPOSE["services"], local_plan()
    assert services["rasa"]["command"] == cluster.rasa_server_argv(5005, "0.0.0.0", model=IMAGE_MODEL)
    assert services["rasa"]["deploy"]["replicas"] >= 2
    assert services["actions"]["command"] == [
        "rasa",
        *plan["action server"].argv[1:-1],
        services["actions"]["environment"]["ACTIONS_PORT"],
    ]
    redis_flags = plan["redis"].argv[5:]  # after --bind 127.0.0.1 --port N
    assert services["redis"]["command"][: 1 + len(redis_flags)] == ["redis-server", *redis_flags]
    # socket.io unpickles what it reads from Redis: never without a password.
    assert "--requirepass" in services["redis"]["command"]
    environment = services["rasa"]["environment"]
    for name, value in cluster.shared_environment(cluster.Settings(servers=2)).items():
        assert name in environment, name
        if name not in HOST_SETTINGS | {"THRESHOLD_DEMO_PAGE_PORT", "REDIS_PASSWORD"}:
            assert environment[name] == value, name
    assert environment["THRESHOLD_DB_DIALECT"] == "postgresql"
    assert services["web"]["command"][:3] == without_paths(plan["web page server"].argv)[:3]
    # nginx: the same template as the cluster's, filled in for the compose services.
    assert (PROJECT_ROOT / "deploy" / "nginx.compose.conf").read_text() == cluster.compose_nginx_config()
    assert "./nginx.compose.conf:/etc/nginx/threshold.conf:ro" in services["nginx"]["volumes"]


def test_helm_values_run_the_image_as_the_cluster_does_and_replace_the_charts_unsafe_defaults():
    assert HELM["command"] + HELM["args"] == cluster.rasa_server_argv(5005, "0.0.0.0", model=IMAGE_MODEL)
    settings = HELM["applicationSettings"]
    assert settings["telemetry"]["enabled"] is False
    assert settings["initialModel"] == "" and settings["trainInitialModel"] is False
    assert settings["cors"] != "*" and "*" not in HELM["args"]
    assert settings["endpoints"]["lockStore"]["enabled"] is True
    assert HELM["replicaCount"] >= 2
    environment = {entry["name"]: entry for entry in HELM["extraEnv"]}
    assert environment["RASA_TELEMETRY_ENABLED"]["value"] == "false"
    # The chart provides the Redis settings; the rest are set here.
    provided_by_chart = {"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"}
    assert (
        set(cluster.shared_environment(cluster.Settings(servers=2))) <= set(environment) | provided_by_chart
    )
    actions = HELM["rasa-action-server"]
    assert actions["command"] + actions["args"] == without_paths(local_plan()["action server"].argv)[:-1] + [
        str(actions["applicationSettings"]["port"])
    ]


# The running cluster.


class RunningCluster:
    def __init__(self, process, ports, state, output):
        self.process, self.ports, self.state, self.output = process, ports, state, output

    @property
    def url(self):
        return f"http://127.0.0.1:{self.ports['RASA_PORT']}"

    def pids(self):
        return json.loads((self.state / "pids.json").read_text())

    def server_url(self, index):
        return f"http://127.0.0.1:{self.ports['RASA_PORT'] + cluster.SERVER_PORT_OFFSET + index - 1}"

    def engine(self):
        port, password = self.ports["CLUSTER_DB_PORT"], (self.state / "db_password").read_text().strip()
        return sa.create_engine(f"postgresql://threshold:{password}@127.0.0.1:{port}/threshold_conversations")


@pytest.fixture(scope="module")
def running_cluster():
    missing = [name for name in ("redis-server", "nginx") if shutil.which(name) is None]
    assert not missing, f"{missing} missing: {cluster.INSTALL_HINT}"
    ports = cluster.free_ports(2, free_port)
    # PostgreSQL runs as its own user: the state folder must be reachable by it.
    state = Path(tempfile.mkdtemp(prefix="threshold-cluster-"))
    state.chmod(0o755)
    env = {
        **os.environ,
        **{name: str(port) for name, port in ports.items()},
        "CLUSTER_STATE_DIR": str(state),
        "THRESHOLD_WEBHOOK_TOKEN": TOKEN,
    }
    process = subprocess.Popen(
        [str(VENV_BIN / "python"), "scripts/cluster.py", "--servers", "2"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    threading.Thread(target=lambda: output.extend(process.stdout), daemon=True).start()
    try:
        deadline = time.monotonic() + 400
        while not any(line.startswith("Ready:") for line in output):
            assert process.poll() is None, "make cluster stopped:\n" + "".join(output)
            assert time.monotonic() < deadline, "make cluster did not start:\n" + "".join(output)
            time.sleep(0.5)
        yield RunningCluster(process, ports, state, output)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(state, ignore_errors=True)


def send(base_url, sender, text, timeout=30):
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read())


def stored_user_texts(running, sender):
    with running.engine().connect() as connection:
        rows = connection.execute(
            sa.text("select data from events where sender_id = :sender and type_name = 'user' order by id"),
            {"sender": sender},
        )
        return [json.loads(row[0])["text"] for row in rows]


def test_the_cluster_answers_through_nginx_and_keeps_the_conversation_in_postgres(running_cluster):
    sender = f"cluster-{uuid.uuid4().hex[:8]}"
    status, replies = send(running_cluster.url, sender, "i want to kill myself")
    assert status == 200 and CRISIS_LINE in " ".join(r.get("text", "") for r in replies)
    # The next message may reach the other process: the conversation is the same one.
    status, replies = send(running_cluster.url, sender, "what is transference?")
    assert status == 200 and replies
    assert stored_user_texts(running_cluster, sender) == ["i want to kill myself", "what is transference?"]


async def widget_tabs_on_two_servers(first_url, second_url):
    """Two tabs of one conversation, each connected straight to a different server process;
    the first sends, and the second must get the reply."""
    first, second = socketio.AsyncClient(reconnection=False), socketio.AsyncClient(reconnection=False)
    session, seen_by_second = {}, []
    confirmed = asyncio.Event()

    @first.on("session_confirm")
    async def on_confirm(session_id):
        session["id"] = session_id
        confirmed.set()

    @second.on("bot_uttered")
    async def on_reply(message):
        seen_by_second.append(message)

    await first.connect(first_url, transports=["websocket"])
    await second.connect(second_url, transports=["websocket"])
    try:
        await first.emit("session_request", {"session_id": None})
        await asyncio.wait_for(confirmed.wait(), 10)
        second_confirmed = asyncio.Event()
        second.on("session_confirm", lambda _: second_confirmed.set())
        await second.emit("session_request", {"session_id": session["id"]})
        await asyncio.wait_for(second_confirmed.wait(), 10)
        await first.emit("user_uttered", {"message": "what is transference?", "session_id": session["id"]})
        for _ in range(300):
            if any(TRANSFERENCE_SOURCE in (m.get("text") or "") for m in seen_by_second):
                break
            await asyncio.sleep(0.1)
    finally:
        await first.disconnect()
        await second.disconnect()
    return seen_by_second


def test_a_widget_reply_reaches_a_tab_connected_to_the_other_server_process(running_cluster):
    seen = asyncio.run(
        widget_tabs_on_two_servers(running_cluster.server_url(1), running_cluster.server_url(2))
    )
    assert any(TRANSFERENCE_SOURCE in (m.get("text") or "") for m in seen)


def load(running, senders, stop_at, results):
    """Each sender sends numbered messages in turn until `stop_at`; results gets
    (sender, text, acknowledged)."""
    while time.monotonic() < stop_at:
        for sender in senders:
            text = f"hello number {sum(1 for r in results if r[0] == sender)}"
            try:
                status, _ = send(running.url, sender, text, timeout=60)
                results.append((sender, text, status == 200))
            except (urllib.error.URLError, OSError):
                results.append((sender, text, False))


def wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.5)


def test_a_stopped_rasa_server_loses_no_acknowledged_message_and_is_started_again(running_cluster):
    senders = [f"load-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    results, stop_at = [], time.monotonic() + 25
    threads = [threading.Thread(target=load, args=(running_cluster, [s], stop_at, results)) for s in senders]
    for thread in threads:
        thread.start()
    time.sleep(6)
    stopped = running_cluster.pids()["Rasa server 1"]
    before_kill = len(results)
    os.killpg(stopped, signal.SIGKILL)
    for thread in threads:
        thread.join()
    after_kill = results[before_kill:]
    # The other server carried on.
    assert sum(acknowledged for _, _, acknowledged in after_kill) >= len(senders)
    for sender in senders:
        acknowledged = [text for s, text, ok in results if s == sender and ok]
        stored = stored_user_texts(running_cluster, sender)
        # Every acknowledged message is stored, once, in the order it was sent.
        assert [text for text in stored if text in acknowledged] == acknowledged
        assert len(stored) == len(set(stored))
    wait_until(lambda: running_cluster.pids()["Rasa server 1"] != stopped, 30)
    assert any(
        "Rasa server 1 stopped" in line and "starting it again" in line for line in running_cluster.output
    )
    wait_until(
        lambda: cluster.port_open(running_cluster.ports["RASA_PORT"] + cluster.SERVER_PORT_OFFSET), 240
    )


def test_a_restarted_redis_is_used_again_without_restarting_the_rest(running_cluster):
    before = running_cluster.pids()
    stopped = before["redis"]
    os.killpg(stopped, signal.SIGKILL)
    wait_until(lambda: running_cluster.pids()["redis"] != stopped, 30)
    after = running_cluster.pids()
    assert {n: p for n, p in after.items() if n != "redis"} == {
        n: p for n, p in before.items() if n != "redis"
    }
    wait_until(lambda: cluster.port_open(running_cluster.ports["REDIS_PORT"]), 30)
    sender = f"after-redis-{uuid.uuid4().hex[:8]}"
    for _ in range(20):
        try:
            if send(running_cluster.url, sender, "what is transference?")[0] == 200:
                break
        except urllib.error.HTTPError as error:
            # While Redis was away: an error status, never a hang.
            assert error.code >= 500
        time.sleep(1)
    else:
        pytest.fail("no answer after Redis came back")
    assert stored_user_texts(running_cluster, sender)[-1] == "what is transference?"


def test_a_restarted_postgresql_is_used_again_without_restarting_the_rest(running_cluster):
    sender = f"before-pg-{uuid.uuid4().hex[:8]}"
    assert send(running_cluster.url, sender, "what is transference?")[0] == 200
    data = running_cluster.state / "postgres" / "data"
    pg_ctl = [
        f"{load_script('local_postgres').bin_dir()}/pg_ctl",
        "-D",
        str(data),
        "-m",
        "fast",
        "-w",
        "restart",
    ]
    command = ["runuser", "-u", "postgres", "--", *pg_ctl] if os.geteuid() == 0 else pg_ctl
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pids = running_cluster.pids()
    # Every message after the restart is answered and stored: no stale database connection
    # is used (each is checked before use).
    for index in range(6):
        text = f"after the restart {index}"
        assert send(running_cluster.url, sender, text)[0] == 200
    assert stored_user_texts(running_cluster, sender) == ["what is transference?"] + [
        f"after the restart {index}" for index in range(6)
    ]
    assert running_cluster.pids() == pids, "nothing else was restarted"


def pg_ctl(running, *arguments):
    data = running.state / "postgres" / "data"
    command = [f"{load_script('local_postgres').bin_dir()}/pg_ctl", "-D", str(data), "-w", *arguments]
    command = ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_messages_answered_while_postgresql_is_stopped_are_stored_when_it_is_back(running_cluster):
    # One server process throughout: each process keeps what it could not store.
    server = running_cluster.server_url(1)
    sender = f"pg-down-{uuid.uuid4().hex[:8]}"
    assert send(server, sender, "what is transference?")[0] == 200
    pg_ctl(running_cluster, "-m", "fast", "stop")
    try:
        for text in ("while the database is down", "still down"):
            status, replies = send(server, sender, text)
            assert status == 200 and replies, "answered while the database is down"
    finally:
        folder = running_cluster.state / "postgres"
        options = f"-p {running_cluster.ports['CLUSTER_DB_PORT']} -k {folder} -c listen_addresses=127.0.0.1"
        pg_ctl(running_cluster, "-l", str(folder / "server.log"), "-o", options, "start")
    assert send(server, sender, "back again")[0] == 200
    assert stored_user_texts(running_cluster, sender) == [
        "what is transference?",
        "while the database is down",
        "still down",
        "back again",
    ]


def test_ctrl_c_stops_everything_the_cluster_started(running_cluster):
    pids = running_cluster.pids()
    running_cluster.process.send_signal(signal.SIGINT)
    assert running_cluster.process.wait(timeout=90) == 0
    for name, pid in pids.items():
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(), name
    for name, port in running_cluster.ports.items():
        assert not cluster.port_open(port), name
