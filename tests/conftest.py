"""Shared fixtures: the trained model, a running action server, conversations."""

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# endpoints.yml takes the action server's port from the environment, as `make run` sets it.
os.environ.setdefault("ACTIONS_PORT", "5055")
os.chdir(PROJECT_ROOT)

SPACY_PIPELINE = PROJECT_ROOT / ".spacy" / "en_threshold"
MODEL_PATH = PROJECT_ROOT / "models" / "threshold.tar.gz"
VENV_BIN = Path(sys.executable).parent
# The article's topics, from data/responses/article.yml.
from threshold.article_topics import article_topics  # noqa: E402

ARTICLE_TOPICS = article_topics()
CRISIS_REPLIES = {"utter_crisis", "utter_medical_emergency"}


def _clinic_values():
    from threshold.clinic_profile import load_clinic_profile

    return load_clinic_profile().template_values()


# What replies must show, from the profile the tests run with (clinic.yml, or the file
# THRESHOLD_CLINIC_PROFILE names): never the example clinic's values written out.
CLINIC = _clinic_values()
CRISIS_LINE = CLINIC["crisis_line"]
EMERGENCY_NUMBER = CLINIC["emergency_number"]
BOOKING_URL = CLINIC["booking_url"]
CLINIC_NAME = CLINIC["clinic_name"]
CLINIC_PHONE = CLINIC["clinic_phone"]
CLINIC_FEES = CLINIC["clinic_fees"]


# What the exercise actions must show, from the library the tests run with
# (content/exercises.yml, or the file THRESHOLD_EXERCISES names).
def exercises_for(library, topic) -> List[Any]:
    """The library's exercises for a topic, in the order the file lists them."""
    return [exercise for exercise in library.exercises if topic in exercise.topics]


def step_line(library, exercise, number: int) -> str:
    """Step `number` of an exercise as the library's `step` message words it."""
    return library.messages["step"].format(
        number=number, total=len(exercise.steps), text=exercise.steps[number - 1]
    )


# The REST channel's token on the server with every channel on (channel_server).
REST_TOKEN = "test-rest-token"

# Figures measured during the run, printed at the end (see pytest_terminal_summary).
MEASUREMENTS: Dict[str, str] = {}


def pytest_configure(config):
    # A skip fails the run unless its reason is allowed in tests/skip_guard.py.
    import skip_guard

    skip_guard.install(config)


def pytest_terminal_summary(terminalreporter):
    if MEASUREMENTS:
        terminalreporter.section("measured")
        for name, value in MEASUREMENTS.items():
            terminalreporter.write_line(f"{name}: {value}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def distinct_free_ports(count: int, taken=()) -> list:
    """`count` free ports, none equal to another or to one in `taken`: two calls of free_port()
    may return the same port, and two services on it would fail to start."""
    ports, taken = [], set(taken)
    for _ in range(100 * count):
        port = free_port()
        if port not in taken:
            ports.append(port)
            taken.add(port)
        if len(ports) == count:
            return ports
    raise RuntimeError("no free ports")


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def start_process(args: List[str], log_path: Path, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})}
    return subprocess.Popen(
        args,
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=open(log_path, "wb"),
        stderr=subprocess.STDOUT,
    )


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def spacy_nlp():
    import spacy

    return spacy.load(SPACY_PIPELINE)


@pytest.fixture(scope="session")
def safety_patterns(spacy_nlp):
    from components.safety_net import load_patterns

    return load_patterns(PROJECT_ROOT / "content" / "safety_patterns.yml", spacy_nlp)


@pytest.fixture(scope="session")
def action_server_url():
    port = free_port()
    process = start_process(
        [str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port)],
        PROJECT_ROOT / "logs" / "test-actions.log",
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", process)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def event_loop_for_agent():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def load_agent(action_url: Optional[str], generator: Any = None):
    from rasa.core.agent import Agent
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.endpoints import EndpointConfig

    assert MODEL_PATH.exists(), "no trained model: run `make train` first"
    endpoints = AvailableEndpoints.read_endpoints(str(PROJECT_ROOT / "endpoints.yml"))
    agent = Agent.load(
        str(MODEL_PATH),
        action_endpoint=EndpointConfig(url=action_url) if action_url else None,
        generator=generator or endpoints.nlg,
    )
    # Rasa turns on debug logging for structlog; keep test output readable.
    logging.getLogger("rasa").setLevel(logging.WARNING)
    return agent


@pytest.fixture(scope="session")
def agent(action_server_url):
    return load_agent(action_server_url)


class Conversation:
    """One person's conversation with the assistant, through the trained model."""

    def __init__(self, agent, loop) -> None:
        self.agent = agent
        self.loop = loop
        self.sender = uuid.uuid4().hex

    def tracker(self):
        return self.loop.run_until_complete(self.agent.tracker_store.retrieve(self.sender))

    def say(self, text: str) -> List[Dict[str, Any]]:
        """The bot's replies to one message: utter_action, text and buttons of each."""
        tracker = self.tracker()
        before = len(tracker.events) if tracker else 0
        self.loop.run_until_complete(self.agent.handle_text(text, sender_id=self.sender))
        replies = []
        for event in list(self.tracker().events)[before:]:
            if event.type_name == "bot":
                replies.append(
                    {
                        "action": (event.metadata or {}).get("utter_action"),
                        "text": event.text or "",
                        "buttons": (event.data or {}).get("buttons") or [],
                    }
                )
        return replies

    def parse(self, text: str) -> Dict[str, Any]:
        return self.loop.run_until_complete(self.agent.parse_message(text))


@pytest.fixture
def conversation(agent, event_loop_for_agent):
    return Conversation(agent, event_loop_for_agent)


@pytest.fixture(scope="session")
def new_conversation(agent, event_loop_for_agent):
    return lambda: Conversation(agent, event_loop_for_agent)


# The messaging channels, switched on against a stand-in for the Telegram and Slack APIs.
TELEGRAM_TOKEN = "123456789:TEST-token_for-the-tests"
TELEGRAM_SECRET = "test-telegram-secret_0123456789"
TELEGRAM_WEBHOOK_URL = "https://assistant.juniperlane.example.org/webhooks/telegram/webhook"
SLACK_SIGNING_SECRET = "test-slack-signing-secret"


@pytest.fixture(scope="session")
def fake_chat_apis():
    from fake_chat_apis import FakeChatApis

    apis = FakeChatApis()
    yield apis
    apis.close()


@pytest.fixture(scope="session")
def widget_site_port():
    return free_port()


@pytest.fixture(scope="session")
def widget_clinic_profile(widget_site_port, tmp_path_factory):
    """The profile the tests run with, the test page's origin allowed to open the chat."""
    import yaml

    from threshold.clinic_profile import profile_path

    profile = yaml.safe_load(profile_path().read_text())
    profile["allowed_origins"] = profile.get("allowed_origins", []) + [f"http://127.0.0.1:{widget_site_port}"]
    path = tmp_path_factory.mktemp("profile") / "clinic.yml"
    path.write_text(yaml.safe_dump(profile))
    return path


@pytest.fixture(scope="session")
def channel_database(tmp_path_factory):
    return tmp_path_factory.mktemp("channels-db") / "conversations.db"


@pytest.fixture(scope="session")
def channel_server(
    action_server_url,
    fake_chat_apis,
    widget_clinic_profile,
    widget_site_port,
    channel_database,
    tmp_path_factory,
):
    """A Rasa server with every channel on, as `make run` starts it; its URL."""
    import yaml

    folder = tmp_path_factory.mktemp("channels")
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text())
    endpoints["action_endpoint"]["url"] = action_server_url
    (folder / "endpoints.yml").write_text(yaml.safe_dump(endpoints))
    (port,) = distinct_free_ports(1, taken={widget_site_port})
    process = start_process(
        [
            str(VENV_BIN / "rasa"),
            "run",
            "--model",
            str(MODEL_PATH),
            "--endpoints",
            str(folder / "endpoints.yml"),
            "--credentials",
            str(PROJECT_ROOT / "credentials.yml"),
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
        ],
        PROJECT_ROOT / "logs" / "test-channels.log",
        env={
            "THRESHOLD_DB_NAME": str(channel_database),
            "THRESHOLD_CLINIC_PROFILE": str(widget_clinic_profile),
            "THRESHOLD_WEBHOOK_TOKEN": REST_TOKEN,
            "THRESHOLD_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
            "THRESHOLD_TELEGRAM_SECRET": TELEGRAM_SECRET,
            "THRESHOLD_TELEGRAM_WEBHOOK_URL": TELEGRAM_WEBHOOK_URL,
            "THRESHOLD_TELEGRAM_API_URL": fake_chat_apis.url,
            "THRESHOLD_SLACK_TOKEN": "xoxb-test-token",
            "THRESHOLD_SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
            "THRESHOLD_SLACK_API_URL": fake_chat_apis.url + "/api/",
        },
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process, timeout=180)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def postgres() -> Dict[str, str]:
    """A real PostgreSQL server for the session (Debian's package), as THRESHOLD_DB_* settings."""
    from scripts_path import load_script

    local_postgres = load_script("local_postgres")
    try:
        with local_postgres.running_postgres() as settings:
            yield settings
    except local_postgres.PostgresUnavailable as error:
        pytest.fail(str(error))


def postgres_store_settings(server: Dict[str, str]) -> Dict[str, Any]:
    """The conversation store's settings for a server from the `postgres` fixture."""
    return {
        "dialect": "postgresql",
        "host": server["THRESHOLD_DB_HOST"],
        "port": int(server["THRESHOLD_DB_PORT"]),
        "db": server["THRESHOLD_DB_NAME"],
        "username": server["THRESHOLD_DB_USER"],
        "password": server["THRESHOLD_DB_PASSWORD"],
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database(request, tmp_path) -> Dict[str, Any]:
    """Settings that reach one database from several stores: an SQLite file, or the real PostgreSQL."""
    if request.param == "sqlite":
        return {"dialect": "sqlite", "db": str(tmp_path / "c.db")}
    return postgres_store_settings(request.getfixturevalue("postgres"))
