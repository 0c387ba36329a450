"""The website chat channel (socket.io) against a running server, with a real
socket.io client: origins, session persistence and bad input."""

import asyncio
import uuid

import pytest
import socketio
from conftest import CRISIS_LINE

SESSION = "<session>"  # replaced by the conversation's session id


async def talk(url, messages, until, session_id=None, origin=None, timeout=30.0):
    """Connects, asks for a session, sends each message, and waits until the
    replies contain `until`; returns the session id and the replies."""
    client = socketio.AsyncClient(reconnection=False)
    replies, confirmed, state = [], asyncio.Event(), {}

    @client.on("session_confirm")
    async def on_confirm(session):
        state["session"] = session
        confirmed.set()

    @client.on("bot_uttered")
    async def on_reply(message):
        replies.append(message)

    await client.connect(url, headers={"Origin": origin} if origin else {}, transports=["websocket"])
    try:
        await client.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(confirmed.wait(), 10)
        for message in messages:
            if isinstance(message, str):
                message = {"message": message, "session_id": SESSION}
            if isinstance(message, dict) and message.get("session_id") == SESSION:
                message = {**message, "session_id": state["session"]}
            await client.emit("user_uttered", message)
        deadline = asyncio.get_running_loop().time() + timeout
        while until not in texts(replies) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # the rest of the reply
    finally:
        await client.disconnect()
    return state["session"], replies


def texts(replies):
    return " ".join(r.get("text", "") for r in replies)


def test_a_question_gets_an_answer_with_buttons(channel_server):
    _, replies = asyncio.run(talk(channel_server, ["why does therapy take time?"], until="Rothbaum"))
    assert "Rothbaum" in texts(replies)
    assert any(r.get("quick_replies") for r in replies)


def test_the_session_is_kept_across_connections(channel_server):
    first, _ = asyncio.run(talk(channel_server, ["i want to kill myself"], until=CRISIS_LINE))
    second, replies = asyncio.run(talk(channel_server, ["hi"], until="still here", session_id=first))
    assert first == second
    # The same conversation: after a crisis message, the greeting stays in crisis mode.
    assert "I'm still here with you" in texts(replies)


@pytest.fixture(scope="module")
def answer_alone(channel_server):
    """The replies to the good message on its own."""
    return asyncio.run(talk(channel_server, ["what is transference?"], until="Rothbaum"))[1]


@pytest.mark.parametrize(
    "bad",
    [
        {"message": 5, "session_id": SESSION},
        {"message": None, "session_id": SESSION},
        {"message": "   ", "session_id": SESSION},
        {"message": "x" * 100_000, "session_id": SESSION},
        {"message": "hi", "session_id": ["not", "a", "string"]},
        {"message": "hi"},
        "hi there",
    ],
    ids=["number", "null", "blank", "100k", "bad-session", "no-session", "not-an-object"],
)
def test_bad_messages_are_dropped_and_the_connection_keeps_working(channel_server, answer_alone, bad):
    # A bare string would be a normal message for talk(); send it as the raw event data.
    raw = [bad] if not isinstance(bad, str) else [["hi there"]]
    _, replies = asyncio.run(talk(channel_server, raw + ["what is transference?"], until="Rothbaum"))
    # The good message is answered, and nothing else is.
    assert len(replies) == len(answer_alone)
    assert texts(replies).count("Rothbaum") == 1


def test_a_browser_from_another_origin_is_refused(channel_server, widget_site_port):
    with pytest.raises(socketio.exceptions.ConnectionError):
        asyncio.run(
            talk(channel_server, ["hi"], until="therapist", origin="https://not-the-clinic.example.com")
        )
    # The server's profile allows the test page's origin (conftest.widget_clinic_profile).
    allowed = f"http://127.0.0.1:{widget_site_port}"
    _, replies = asyncio.run(talk(channel_server, ["hi"], until="therapist", origin=allowed))
    assert "not a therapist" in texts(replies)


@pytest.mark.parametrize(
    "chosen", ["4242", uuid.uuid4().hex, "web-" + uuid.uuid4().hex + ".0123456789abcdef0123456789abcdef"]
)
def test_a_session_id_the_client_makes_up_is_replaced_and_its_messages_dropped(channel_server, chosen):
    issued, _ = asyncio.run(talk(channel_server, [], until="", session_id=chosen, timeout=1))
    assert issued != chosen and issued.startswith("web-")
    _, replies = asyncio.run(
        talk(channel_server, [{"message": "hi", "session_id": chosen}], until="x", timeout=3)
    )
    assert replies == []
