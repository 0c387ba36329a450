"""Against a running server: the guarded REST channel, bad input, the API token,
CORS, conversations kept across a restart in SQLite, retention, and logs without
message text."""

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import (
    CRISIS_LINE,
    MODEL_PATH,
    PROJECT_ROOT,
    VENV_BIN,
    free_port,
    start_process,
    stop_process,
    wait_for_http,
)

from threshold.clinic_profile import load_clinic_profile

WEBHOOK_TOKEN = "test-webhook-token"
API_TOKEN = "test-api-token"
ORIGIN = "https://clinic-under-test.example.org"
# A short queue, so that a small burst shows the overload answer.
MAX_QUEUE = 2
BURST = 48


class Server:
    def __init__(self, tmp_path, name="server"):
        self.database = tmp_path / "conversations.db"
        self.log = tmp_path / f"{name}.log"
        self.port = None
        self.process = None

    def start(self):
        """The server as `make run` starts it (threshold.rasa_server), the API token in the environment."""
        self.port = free_port()
        self.process = start_process(
            [
                str(VENV_BIN / "python"),
                "-m",
                "threshold.rasa_server",
                "run",
                "--model",
                str(MODEL_PATH),
                "--endpoints",
                str(PROJECT_ROOT / "endpoints.yml"),
                "--credentials",
                str(PROJECT_ROOT / "credentials.yml"),
                "--port",
                str(self.port),
                "--interface",
                "127.0.0.1",
                "--cors",
                ORIGIN,
            ],
            self.log,
            env={
                "THRESHOLD_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
                "THRESHOLD_DB_NAME": str(self.database),
                "THRESHOLD_API_TOKEN": API_TOKEN,
                "THRESHOLD_MAX_QUEUE": str(MAX_QUEUE),
            },
        )
        wait_for_http(f"{self.url}/", self.process, timeout=180)
        return self

    def stop(self):
        stop_process(self.process)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def post(self, body: bytes, token=WEBHOOK_TOKEN, path="/webhooks/rest/webhook"):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def say(self, sender, text):
        return self.post(json.dumps({"sender": sender, "message": text}).encode())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("server")).start()
    yield running
    running.stop()


def texts(messages):
    return " ".join(m.get("text", "") for m in messages)


def test_the_rest_channel_needs_the_token(server):
    body = json.dumps({"sender": "a", "message": "hi"}).encode()
    assert server.post(body, token=None)[0] == 401
    assert server.post(body, token="wrong")[0] == 401
    status, replies = server.post(body)
    assert status == 200 and "automated guide" in texts(replies)


@pytest.mark.parametrize(
    "body,status",
    [
        (b'{"sender": "b", "message": ""}', 400),
        (b'{"sender": "b", "message": "   \\n\\t "}', 400),
        (json.dumps({"sender": "b", "message": "x" * 100_000}).encode(), 413),
        (b'{"sender": "b", "message": "hi', 400),
        (b'["not", "an", "object"]', 400),
        (b'{"sender": "b", "message": 123}', 400),
        (b'{"sender": null, "message": "hi"}', 400),
        (b'{"sender": "b", "message": "caf\\u00e9"}' + b"\xff\xfe", 400),
        (b"", 400),
    ],
)
def test_bad_input_gets_a_clear_4xx(server, body, status):
    code, answer = server.post(body)
    assert code == status
    assert answer["error"]


def test_control_characters_and_emoji_get_a_friendly_reply(server):
    status, replies = server.say("c", "why does therapy\x00\x07 take time?")
    assert status == 200 and "Rothbaum" in texts(replies)
    status, replies = server.say("d", "🙂🙂🙂")
    assert status == 200 and replies


@pytest.mark.parametrize("message", ["ich brauche hilfe", "你们周末开门吗？"])
def test_messages_in_other_languages_the_assistant_is_unsure_of_get_a_polite_note_with_the_crisis_line(
    server, message
):
    # No action server runs beside this server: a message that asks for the clarifying question
    # gets the note from the ActionServerFallbackPolicy (config.yml, in_another_language).
    status, replies = server.say(uuid.uuid4().hex, message)
    assert status == 200
    crisis_line = load_clinic_profile().crisis["crisis_line"]
    assert "only answer in English" in texts(replies) and crisis_line in texts(replies)


@pytest.mark.parametrize(
    "message, language",
    [("¿Cuánto cuesta una sesión de terapia?", "es"), ("Wie lange dauert eine Sitzung?", "de")],
)
def test_a_question_in_another_language_gets_its_answer_in_english_after_a_line_in_that_language(
    server, message, language
):
    import yaml

    notes = yaml.safe_load((PROJECT_ROOT / "content" / "server_replies.yml").read_text())["english_only_note"]
    status, replies = server.say(uuid.uuid4().hex, message)
    assert status == 200
    # Rasa's REST channel sends each paragraph of a reply as a message of its own.
    assert replies[0]["text"] == notes[language] and texts(replies[1:]).strip()
    assert "only answer in English" not in texts(replies)


def test_the_server_keeps_answering_after_bad_input(server):
    server.post(b"\xff\xff")
    server.post(json.dumps({"sender": "e", "message": "y" * 100_000}).encode())
    status, replies = server.say("e", "I feel stuck")
    assert status == 200 and "sticking point" in texts(replies)


def test_the_http_api_needs_its_token(server):
    url = f"{server.url}/conversations/a/tracker"
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(url, timeout=30)
    assert error.value.code in (401, 403)
    with urllib.request.urlopen(f"{url}?token={API_TOKEN}", timeout=30) as response:
        assert response.status == 200


def test_cors_allows_only_the_clinics_origins(server):
    def allowed(origin):
        request = urllib.request.Request(f"{server.url}/", headers={"Origin": origin})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.headers.get("Access-Control-Allow-Origin")

    assert allowed(ORIGIN) == ORIGIN
    assert allowed("https://elsewhere.example.com") is None


def test_no_message_text_in_the_logs(server):
    marker = f"zebra{uuid.uuid4().hex[:8]}"
    server.say("f", f"i feel stuck {marker}")
    server.say("f", f"i want to kill myself {marker}")
    time.sleep(0.5)
    assert marker not in server.log.read_text(errors="replace")


def test_a_conversation_continues_after_a_restart(tmp_path):
    first = Server(tmp_path, "first").start()
    try:
        first.say("restart", "I feel stuck")
        first.say("restart", "i want to kill myself")
    finally:
        first.stop()
    second = Server(tmp_path, "second").start()
    try:
        status, replies = second.say("restart", "thanks")
        assert status == 200
        # The crisis earlier in the conversation still shapes the reply: it was kept.
        assert CRISIS_LINE in texts(replies)
        with urllib.request.urlopen(
            f"{second.url}/conversations/restart/tracker?token={API_TOKEN}", timeout=30
        ) as response:
            events = json.loads(response.read())["events"]
        said = [e["text"] for e in events if e["event"] == "user"]
        assert said == ["I feel stuck", "i want to kill myself", "thanks"]
    finally:
        second.stop()


@pytest.mark.parametrize(
    "channel,needs", [("telegram", "THRESHOLD_TELEGRAM_TOKEN"), ("slack", "THRESHOLD_SLACK_SIGNING_SECRET")]
)
def test_messaging_channels_stay_closed_without_their_secrets(server, channel, needs):
    body = json.dumps({"update_id": 1, "message": {"text": "hi"}}).encode()
    status, answer = server.post(body, token=None, path=f"/webhooks/{channel}/webhook")
    assert status == 403 and needs in answer["error"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"sender": "ok\\udc80", "message": "hi"}',
        b'{"sender": "ok", "message": "hi \\ud800 there"}',
    ],
)
def test_a_lone_surrogate_gets_a_400_and_the_server_keeps_running(server, body):
    code, answer = server.post(body)
    assert code == 400 and answer["error"]
    status, replies = server.say(uuid.uuid4().hex, "hello")
    assert status == 200 and replies


def test_an_oversized_body_is_refused_and_metadata_is_not_stored(server):
    big = json.dumps({"sender": "meta", "message": "hi", "metadata": {"x": "y" * 200_000}}).encode()
    assert server.post(big)[0] == 413
    small = json.dumps(
        {"sender": "meta2", "message": "hi", "metadata": {"secret_note": "do not keep"}}
    ).encode()
    assert server.post(small)[0] == 200
    with urllib.request.urlopen(
        f"{server.url}/conversations/meta2/tracker?token={API_TOKEN}", timeout=30
    ) as answer:
        tracker = answer.read().decode()
    assert '"hi"' in tracker and "do not keep" not in tracker


def test_the_api_token_is_not_on_the_server_command_line(server):
    # Anyone on the machine can read a process's command line (`ps`).
    command_line = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().decode(errors="replace")
    assert "threshold.rasa_server" in command_line
    assert API_TOKEN not in command_line


def test_version_needs_the_api_token(server):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{server.url}/version", timeout=30)
    assert error.value.code == 401
    with urllib.request.urlopen(f"{server.url}/version?token={API_TOKEN}", timeout=30) as response:
        assert "version" in json.loads(response.read())


def post_and_headers(url, sender, text):
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {WEBHOOK_TOKEN}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_a_burst_beyond_the_queue_gets_503_with_retry_after_and_every_accepted_message_is_kept(server):
    senders = [f"burst-{uuid.uuid4().hex[:10]}" for _ in range(BURST)]
    barrier = threading.Barrier(len(senders))

    def send(sender):
        barrier.wait()
        return post_and_headers(
            f"{server.url}/webhooks/rest/webhook", sender, "why does therapy take so long?"
        )

    with ThreadPoolExecutor(len(senders)) as pool:
        results = dict(zip(senders, pool.map(send, senders)))
    statuses = [status for status, _ in results.values()]
    assert set(statuses) <= {200, 503}, statuses  # no reset, no 500
    assert 503 in statuses
    assert all(int(headers["Retry-After"]) > 0 for status, headers in results.values() if status == 503)
    for sender, (status, _) in results.items():
        url = f"{server.url}/conversations/{sender}/tracker?token={API_TOKEN}"
        with urllib.request.urlopen(url, timeout=30) as response:
            users = [event for event in json.loads(response.read())["events"] if event["event"] == "user"]
        # An accepted message is kept; a refused one left nothing half-done behind.
        assert len(users) == (1 if status == 200 else 0), (sender, status)
    # Once the burst has drained, messages are answered again.
    assert server.say(f"after-{uuid.uuid4().hex[:8]}", "hello")[0] == 200


@pytest.mark.parametrize("value", ["0", "many", "-3"])
def test_a_wrong_queue_limit_stops_start_up_naming_the_setting(value):
    finished = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "threshold.rasa_server", "run"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "THRESHOLD_MAX_QUEUE": value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode != 0 and "THRESHOLD_MAX_QUEUE" in finished.stderr


def test_the_api_token_on_the_command_line_is_refused():
    finished = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "threshold.rasa_server", "run", "--auth-token", "x"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode != 0 and "THRESHOLD_API_TOKEN" in finished.stderr
