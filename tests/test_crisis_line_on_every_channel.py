"""After a crisis message, every reply carries the crisis line on every channel: REST,
the website widget (socket.io), Telegram and Slack, through a running server with the
trained model and the action server, as a person meets them.

The messages are the same walk as tests/test_crisis_conversation.py (every kind of reply);
the crisis line comes from the profile the server runs with."""

import asyncio
import json

import pytest
import socketio
from conftest import REST_TOKEN
from test_crisis_conversation import CRISIS_MESSAGE, REPLIES_AFTER_CRISIS
from test_telegram_and_slack import (
    new_chat,
    new_slack_conversation,
    post,
    send_to_telegram_webhook,
    slack_direct_message,
    slack_headers,
    telegram_message,
)

from threshold.clinic_profile import load_clinic_profile

WALK = [CRISIS_MESSAGE, "/not_safe"] + REPLIES_AFTER_CRISIS


@pytest.fixture(scope="module")
def crisis_line(widget_clinic_profile):
    return load_clinic_profile(widget_clinic_profile).crisis["crisis_line"]


def without_the_line(replies_by_message, crisis_line):
    """(message, its replies) for every message whose replies do not show the crisis line.

    Channels send a reply's paragraphs as separate chat messages, so the line is looked
    for in everything that came back to one message."""
    return [
        (message, [text[:60] for text in replies])
        for message, replies in replies_by_message
        if crisis_line not in "\n".join(replies)
    ]


def test_every_reply_after_a_crisis_carries_the_crisis_line_on_rest(channel_server, crisis_line):
    sender = f"walk-{new_chat()}"
    walked = []
    for message in WALK:
        body = json.dumps({"sender": sender, "message": message}).encode()
        status, answer = post(
            f"{channel_server}/webhooks/rest/webhook", body, {"Authorization": f"Bearer {REST_TOKEN}"}
        )
        assert status == 200
        walked.append((message, [m["text"] for m in json.loads(answer) if m.get("text")]))
    assert without_the_line(walked, crisis_line) == []


def replies_after(apis, method, match, before, timeout=30):
    found = apis.wait_for(method, count=before + 1, timeout=timeout, **match)
    return [call.get("text", "") for call in found[before:]]


def test_every_reply_after_a_crisis_carries_the_crisis_line_on_telegram(
    channel_server, fake_chat_apis, crisis_line
):
    chat = new_chat()
    walked = []
    for message in WALK:
        before = len(fake_chat_apis.calls_to("sendMessage", chat_id=chat))
        assert send_to_telegram_webhook(channel_server, telegram_message(chat, message))[0] == 200
        walked.append((message, replies_after(fake_chat_apis, "sendMessage", {"chat_id": chat}, before)))
    assert without_the_line(walked, crisis_line) == []


def test_every_reply_after_a_crisis_carries_the_crisis_line_on_slack(
    channel_server, fake_chat_apis, crisis_line
):
    user, channel = new_slack_conversation()
    walked = []
    for message in WALK:
        before = len(fake_chat_apis.calls_to("chat.postMessage", channel=channel))
        body = slack_direct_message(user, channel, message)
        assert post(f"{channel_server}/webhooks/slack/webhook", body, slack_headers(body))[0] == 200
        walked.append(
            (message, replies_after(fake_chat_apis, "chat.postMessage", {"channel": channel}, before))
        )
    assert without_the_line(walked, crisis_line) == []


async def walk_socketio(url, messages, timeout=30.0):
    client = socketio.AsyncClient(reconnection=False)
    replies, confirmed, state = [], asyncio.Event(), {}

    @client.on("session_confirm")
    async def on_confirm(session):
        state["session"] = session
        confirmed.set()

    @client.on("bot_uttered")
    async def on_reply(message):
        replies.append(message.get("text", ""))

    await client.connect(url, transports=["websocket"])
    walked = []
    try:
        await client.emit("session_request", {"session_id": None})
        await asyncio.wait_for(confirmed.wait(), 10)
        for message in messages:
            before = len(replies)
            await client.emit("user_uttered", {"message": message, "session_id": state["session"]})
            deadline = asyncio.get_running_loop().time() + timeout
            while len(replies) == before and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # a reply may come in several messages
            walked.append((message, replies[before:]))
    finally:
        await client.disconnect()
    return walked


def test_every_reply_after_a_crisis_carries_the_crisis_line_on_the_website_widget(
    channel_server, crisis_line
):
    walked = asyncio.run(walk_socketio(channel_server, WALK))
    assert without_the_line(walked, crisis_line) == []
