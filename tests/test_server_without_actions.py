"""A running Rasa server with the action server down, then slow: safety replies
and article answers are static responses driven by rules, so they still work, and
an exercise request gets a short static note instead of silence."""

import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from conftest import (
    BOOKING_URL,
    CLINIC_PHONE,
    CRISIS_LINE,
    EMERGENCY_NUMBER,
    MODEL_PATH,
    PROJECT_ROOT,
    VENV_BIN,
    distinct_free_ports,
    free_port,
    start_process,
    stop_process,
    wait_for_http,
)

TOKEN = "test-token"


ACTION_TIMEOUT_SECONDS = next(
    policy["action_timeout_seconds"]
    for policy in yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())["policies"]
    if policy["name"].endswith("ActionServerFallbackPolicy")
)


@pytest.fixture(scope="module")
def actions_port():
    return free_port()  # nothing listens here until a test starts a slow server


@pytest.fixture(scope="module")
def server_without_actions(tmp_path_factory, actions_port):
    dead_actions_port = actions_port
    endpoints = tmp_path_factory.mktemp("endpoints") / "endpoints.yml"
    endpoints.write_text(
        "nlg:\n  type: threshold.nlg.ClinicResponseGenerator\n"
        f"action_endpoint:\n  url: http://127.0.0.1:{dead_actions_port}/webhook\n"
    )
    (port,) = distinct_free_ports(1, taken={dead_actions_port})
    process = start_process(
        [
            str(VENV_BIN / "rasa"),
            "run",
            "--model",
            str(MODEL_PATH),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(PROJECT_ROOT / "credentials.yml"),
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
        ],
        PROJECT_ROOT / "logs" / "test-server-without-actions.log",
        env={"THRESHOLD_WEBHOOK_TOKEN": TOKEN},
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process, timeout=180)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def send(base_url, sender, text):
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def texts(messages):
    return " ".join(m.get("text", "") for m in messages)


def test_crisis_reply_with_the_configured_numbers(server_without_actions):
    reply = texts(send(server_without_actions, "down-1", "i want to kill myself"))
    assert EMERGENCY_NUMBER in reply and CRISIS_LINE in reply and CLINIC_PHONE in reply
    assert "safe right now" in reply


def test_emergency_and_abuse_replies(server_without_actions):
    assert texts(send(server_without_actions, "down-2", "i took all my pills")).startswith("Please call 911")
    assert "1-800-799-7233" in texts(send(server_without_actions, "down-3", "my husband hits me"))


def test_article_answers_still_work(server_without_actions):
    reply = texts(send(server_without_actions, "down-4", "why does therapy take time?"))
    assert "Rothbaum" in reply and BOOKING_URL in reply


def test_an_exercise_request_does_not_break_the_conversation(server_without_actions):
    send(server_without_actions, "down-5", "give me an exercise")
    reply = texts(send(server_without_actions, "down-5", "i wish i was dead"))
    assert CRISIS_LINE in reply


def test_an_unsure_message_still_gets_the_fallback_reply_with_the_crisis_line(server_without_actions):
    # The clarifying question needs the action server; without it the turn still ends in
    # the fallback reply, not in silence.
    reply = texts(send(server_without_actions, "down-unsure", "qwrtp zxkv blorf"))
    assert CRISIS_LINE in reply and CLINIC_PHONE in reply


UNAVAILABLE = "can't open the reflection exercises"


def test_an_exercise_request_gets_a_static_note(server_without_actions):
    reply = texts(send(server_without_actions, "down-6", "give me an exercise"))
    assert UNAVAILABLE in reply and BOOKING_URL in reply
    # The conversation goes on normally afterwards.
    assert "Rothbaum" in texts(send(server_without_actions, "down-6", "why does therapy take time?"))


def test_a_step_request_gets_the_note_in_crisis_mode_with_the_crisis_line(server_without_actions):
    send(server_without_actions, "down-7", "i want to kill myself")
    send(server_without_actions, "down-7", "/not_safe")  # the answer to "are you safe right now?"
    reply = texts(send(server_without_actions, "down-7", "next step"))
    assert UNAVAILABLE in reply and CRISIS_LINE in reply


class SlowActionServer(BaseHTTPRequestHandler):
    delay_seconds = 3 * ACTION_TIMEOUT_SECONDS

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay_seconds)
        body = json.dumps({"events": [], "responses": [{"text": "too late"}]}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the assistant stopped waiting and closed the connection

    def log_message(self, *args):
        pass


def test_a_slow_action_server_gives_the_note_after_the_timeout(server_without_actions, actions_port):
    slow = ThreadingHTTPServer(("127.0.0.1", actions_port), SlowActionServer)
    slow.daemon_threads = True
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        reply = texts(send(server_without_actions, "slow-1", "give me an exercise"))
        waited = time.monotonic() - started
        assert UNAVAILABLE in reply and "too late" not in reply
        assert ACTION_TIMEOUT_SECONDS <= waited < SlowActionServer.delay_seconds
        # Answers that need no action server are not held up.
        started = time.monotonic()
        assert "Rothbaum" in texts(send(server_without_actions, "slow-2", "why does therapy take time?"))
        assert time.monotonic() - started < ACTION_TIMEOUT_SECONDS
    finally:
        slow.shutdown()
        slow.server_close()
