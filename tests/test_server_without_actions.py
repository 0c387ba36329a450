"""A running Rasa server with the action server down: safety replies and article
answers are static responses driven by rules, so they still work."""
import json
import urllib.request

import pytest

from conftest import MODEL_PATH, PROJECT_ROOT, VENV_BIN, free_port, start_process, stop_process, wait_for_http


TOKEN = "test-token"


@pytest.fixture(scope="module")
def server_without_actions(tmp_path_factory):
    dead_actions_port = free_port()  # nothing listens here
    endpoints = tmp_path_factory.mktemp("endpoints") / "endpoints.yml"
    endpoints.write_text(
        "nlg:\n  type: threshold.nlg.ClinicResponseGenerator\n"
        f"action_endpoint:\n  url: http://127.0.0.1:{dead_actions_port}/webhook\n"
    )
    port = free_port()
    process = start_process(
        [str(VENV_BIN / "rasa"), "run", "--model", str(MODEL_PATH), "--endpoints", str(endpoints),
         "--credentials", str(PROJECT_ROOT / "credentials.yml"), "--port", str(port),
         "--interface", "127.0.0.1"],
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
    assert "911" in reply and "988" in reply and "(555) 010-4477" in reply
    assert "safe right now" in reply


def test_emergency_and_abuse_replies(server_without_actions):
    assert texts(send(server_without_actions, "down-2", "i took all my pills")).startswith("Please call 911")
    assert "1-800-799-7233" in texts(send(server_without_actions, "down-3", "my husband hits me"))


def test_article_answers_still_work(server_without_actions):
    reply = texts(send(server_without_actions, "down-4", "why does therapy take time?"))
    assert "Rothbaum" in reply and "juniperlane.example.org/book" in reply


def test_an_exercise_request_does_not_break_the_conversation(server_without_actions):
    send(server_without_actions, "down-5", "give me an exercise")
    reply = texts(send(server_without_actions, "down-5", "i wish i was dead"))
    assert "988" in reply
