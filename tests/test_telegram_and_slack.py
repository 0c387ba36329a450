"""Telegram and Slack against a running server: real-format updates and events
come in, and the replies that would go out are caught by a stand-in for the
Telegram and Slack APIs on loopback (no network)."""

import asyncio
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
from conftest import (
    BOOKING_URL,
    CRISIS_LINE,
    EMERGENCY_NUMBER,
    REST_TOKEN,
    SLACK_SIGNING_SECRET,
    TELEGRAM_SECRET,
    TELEGRAM_WEBHOOK_URL,
)

from threshold.clinic_profile import load_clinic_profile


def post(url, body: bytes, headers):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# --- Telegram ---------------------------------------------------------------

_update_ids = iter(range(10_000, 1_000_000))


def telegram_message(chat_id: int, text: str) -> dict:
    """An Update as Telegram posts it for a private text message."""
    person = {"id": chat_id, "is_bot": False, "first_name": "Sam", "language_code": "en"}
    return {
        "update_id": next(_update_ids),
        "message": {
            "message_id": 7,
            "date": int(time.time()),
            "text": text,
            "from": person,
            "chat": {"id": chat_id, "first_name": "Sam", "type": "private"},
        },
    }


def telegram_button(chat_id: int, payload: str) -> dict:
    """An Update for a press on an inline keyboard button."""
    person = {"id": chat_id, "is_bot": False, "first_name": "Sam"}
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(uuid.uuid4().int)[:12],
            "from": person,
            "chat_instance": "42",
            "data": payload,
            "message": {
                "message_id": 8,
                "date": int(time.time()),
                "text": "...",
                "from": {"id": 1, "is_bot": True, "first_name": "Assistant"},
                "chat": {"id": chat_id, "first_name": "Sam", "type": "private"},
            },
        },
    }


def send_to_telegram_webhook(server, update: dict, secret=TELEGRAM_SECRET):
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return post(f"{server}/webhooks/telegram/webhook", json.dumps(update).encode(), headers)


def telegram_reply(apis, server, chat_id, update) -> str:
    status, _ = send_to_telegram_webhook(server, update)
    assert status == 200
    return " ".join(m["text"] for m in apis.wait_for("sendMessage", chat_id=chat_id))


def new_chat() -> int:
    return uuid.uuid4().int % 10**9


def test_telegram_webhook_is_registered_with_the_secret(channel_server, fake_chat_apis):
    registered = fake_chat_apis.wait_for("setWebhook")[-1]
    assert registered["url"] == TELEGRAM_WEBHOOK_URL and registered["secret_token"] == TELEGRAM_SECRET


def test_telegram_answers_a_question_with_the_booking_link(channel_server, fake_chat_apis):
    chat = new_chat()
    reply = telegram_reply(
        fake_chat_apis, channel_server, chat, telegram_message(chat, "why does therapy take time?")
    )
    assert "Rothbaum" in reply and BOOKING_URL in reply
    buttons = [m for m in fake_chat_apis.calls_to("sendMessage", chat_id=chat) if "reply_markup" in m]
    assert buttons and "callback_data" in buttons[0]["reply_markup"]


def test_telegram_button_press_is_answered(channel_server, fake_chat_apis):
    chat = new_chat()
    reply = telegram_reply(
        fake_chat_apis, channel_server, chat, telegram_button(chat, "/pre_appointment_cost")
    )
    assert "$" in reply or "fee" in reply.lower()


def test_telegram_crisis_message_gets_the_crisis_reply(channel_server, fake_chat_apis):
    chat = new_chat()
    reply = telegram_reply(
        fake_chat_apis, channel_server, chat, telegram_message(chat, "i want to end my life")
    )
    assert CRISIS_LINE in reply and EMERGENCY_NUMBER in reply


def test_telegram_start_command_greets(channel_server, fake_chat_apis):
    chat = new_chat()
    reply = telegram_reply(fake_chat_apis, channel_server, chat, telegram_message(chat, "/start"))
    assert "not a therapist" in reply


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-0123456789", TELEGRAM_SECRET + "x"])
def test_telegram_updates_without_the_secret_are_refused(channel_server, fake_chat_apis, secret):
    chat = new_chat()
    status, _ = send_to_telegram_webhook(channel_server, telegram_message(chat, "hi"), secret=secret)
    assert status == 403
    time.sleep(1)
    assert fake_chat_apis.calls_to("sendMessage", chat_id=chat) == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"update_id": "x", "message": 5}'])
def test_telegram_malformed_updates_get_a_clear_error(channel_server, body):
    status, text = post(
        f"{channel_server}/webhooks/telegram/webhook",
        body,
        {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert status == 400


# --- Slack ------------------------------------------------------------------


def slack_headers(body: bytes, secret=SLACK_SIGNING_SECRET, timestamp=None) -> dict:
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


def slack_direct_message(user: str, channel: str, text: str) -> bytes:
    """An Events API event_callback for a direct message to the app."""
    ts = f"{time.time():.6f}"
    return json.dumps(
        {
            "token": "unused",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10]}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0001", "user_id": "UBOT", "is_bot": True}],
            "event": {
                "type": "message",
                "channel_type": "im",
                "user": user,
                "text": text,
                "ts": ts,
                "channel": channel,
                "event_ts": ts,
                "team": "T0001",
            },
        }
    ).encode()


def new_slack_conversation():
    suffix = uuid.uuid4().hex[:8].upper()
    return f"U{suffix}", f"D{suffix}"


def test_slack_answers_a_signed_direct_message(channel_server, fake_chat_apis):
    user, channel = new_slack_conversation()
    body = slack_direct_message(user, channel, "why does therapy take time?")
    status, _ = post(f"{channel_server}/webhooks/slack/webhook", body, slack_headers(body))
    assert status == 200
    reply = " ".join(m.get("text", "") for m in fake_chat_apis.wait_for("chat.postMessage", channel=channel))
    assert "Rothbaum" in reply and BOOKING_URL in reply


def test_slack_crisis_message_gets_the_crisis_reply(channel_server, fake_chat_apis):
    user, channel = new_slack_conversation()
    body = slack_direct_message(user, channel, "i want to kill myself")
    assert post(f"{channel_server}/webhooks/slack/webhook", body, slack_headers(body))[0] == 200
    reply = " ".join(m.get("text", "") for m in fake_chat_apis.wait_for("chat.postMessage", channel=channel))
    assert CRISIS_LINE in reply


@pytest.mark.parametrize("case", ["bad signature", "wrong secret", "stale", "no headers"])
def test_slack_rejects_unsigned_or_stale_requests(channel_server, fake_chat_apis, case):
    user, channel = new_slack_conversation()
    body = slack_direct_message(user, channel, "hi")
    headers = {
        "bad signature": {**slack_headers(body), "X-Slack-Signature": "v0=" + "0" * 64},
        "wrong secret": slack_headers(body, secret="not-the-secret"),
        "stale": slack_headers(body, timestamp=int(time.time()) - 600),
        "no headers": {},
    }[case]
    status, _ = post(f"{channel_server}/webhooks/slack/webhook", body, headers)
    assert status == 400
    time.sleep(1)
    assert fake_chat_apis.calls_to("chat.postMessage", channel=channel) == []


def test_slack_url_check_is_answered_only_when_signed(channel_server):
    body = json.dumps({"token": "unused", "challenge": "c-123", "type": "url_verification"}).encode()
    status, text = post(f"{channel_server}/webhooks/slack/webhook", body, slack_headers(body))
    assert status == 200 and json.loads(text) == {"challenge": "c-123"}
    assert post(f"{channel_server}/webhooks/slack/webhook", body, {})[0] == 400


def test_telegram_update_with_a_lone_surrogate_is_refused_and_the_server_keeps_running(
    channel_server, fake_chat_apis
):
    chat = new_chat()
    body = json.dumps(telegram_message(chat, "hi")).encode().replace(b'"hi"', b'"hi \\udc80"')
    status, _ = post(
        f"{channel_server}/webhooks/telegram/webhook",
        body,
        {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert status == 400
    assert telegram_reply(fake_chat_apis, channel_server, chat, telegram_message(chat, "hello"))


def test_slack_event_with_a_lone_surrogate_is_refused_and_the_server_keeps_running(
    channel_server, fake_chat_apis
):
    user, channel = new_slack_conversation()
    body = slack_direct_message(user, channel, "hi").replace(b'"text": "hi"', b'"text": "hi \\udc80"')
    assert post(f"{channel_server}/webhooks/slack/webhook", body, slack_headers(body))[0] == 400
    body = slack_direct_message(user, channel, "hello")
    assert post(f"{channel_server}/webhooks/slack/webhook", body, slack_headers(body))[0] == 200
    assert fake_chat_apis.wait_for("chat.postMessage", channel=channel)


def test_slack_event_delivered_twice_is_answered_once(channel_server, fake_chat_apis):
    user, channel = new_slack_conversation()
    body = slack_direct_message(user, channel, "why does therapy take time?")
    for _ in range(2):
        assert post(f"{channel_server}/webhooks/slack/webhook", body, slack_headers(body))[0] == 200
    fake_chat_apis.wait_for("chat.postMessage", channel=channel)
    time.sleep(2)
    first_texts = [m.get("text", "") for m in fake_chat_apis.calls_to("chat.postMessage", channel=channel)]
    assert len(first_texts) == len(set(first_texts))


# --- Conversation ids are namespaced per channel -----------------------------


def send_to_rest(server, sender: str, text: str):
    body = json.dumps({"sender": sender, "message": text}).encode()
    return post(f"{server}/webhooks/rest/webhook", body, {"Authorization": f"Bearer {REST_TOKEN}"})


def test_a_rest_sender_with_a_telegram_chats_number_does_not_join_that_chats_conversation(
    channel_server, fake_chat_apis, widget_clinic_profile
):
    crisis_line = load_clinic_profile(widget_clinic_profile).crisis["crisis_line"]
    chat = new_chat()
    reply = telegram_reply(
        fake_chat_apis, channel_server, chat, telegram_message(chat, "i want to end my life")
    )
    assert crisis_line in reply
    # The same number on REST is another person's conversation: no crisis state carried over.
    status, body = send_to_rest(channel_server, str(chat), "how long is a session?")
    assert status == 200
    rest_reply = " ".join(m.get("text", "") for m in json.loads(body))
    assert rest_reply and crisis_line not in rest_reply


@pytest.mark.parametrize("sender", ["telegram-12345", "slack-U0123", "web-abc.def"])
def test_a_rest_sender_id_in_another_channels_namespace_is_refused(channel_server, sender):
    status, body = send_to_rest(channel_server, sender, "hello")
    assert status == 400 and "sender" in json.loads(body)["error"]


def test_telegram_replies_reach_the_chat_after_the_id_is_namespaced(channel_server, fake_chat_apis):
    chat = new_chat()
    reply = telegram_reply(fake_chat_apis, channel_server, chat, telegram_message(chat, "hello"))
    assert reply.strip()


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_a_signed_slack_request_with_a_malformed_body_gets_a_400_and_the_server_keeps_running(
    channel_server, fake_chat_apis, body
):
    assert post(f"{channel_server}/webhooks/slack/webhook", body, slack_headers(body))[0] == 400
    user, channel = new_slack_conversation()
    good = slack_direct_message(user, channel, "hello")
    assert post(f"{channel_server}/webhooks/slack/webhook", good, slack_headers(good))[0] == 200


@pytest.mark.parametrize("channel", ["telegram", "slack"])
def test_chat_apps_are_not_sent_the_websites_own_commands(monkeypatch, channel):
    from rasa.core.channels.slack import SlackBot
    from rasa.core.channels.telegram import TelegramOutput

    from threshold.channels.checks import CLEAR_HISTORY, GUIDE_SUMMARY
    from threshold.channels.slack import ClinicSlackBot
    from threshold.channels.telegram import ClinicTelegramOutput

    sent = []

    async def record(self, recipient_id, json_message, **kwargs):
        sent.append(json_message)

    parent = TelegramOutput if channel == "telegram" else SlackBot
    monkeypatch.setattr(parent, "send_custom_json", record)
    output = (
        ClinicTelegramOutput("123:token", "http://127.0.0.1:9")
        if channel == "telegram"
        else ClinicSlackBot("xoxb-token", api_url="http://127.0.0.1:9")
    )
    asyncio.run(output.send_custom_json("someone", {CLEAR_HISTORY: True}))
    # The first-session notes reach a chat app as the reply's text; the widget's copy of them is not sent.
    asyncio.run(output.send_custom_json("someone", {GUIDE_SUMMARY: "Notes\n\nWhat brings me: work"}))
    assert sent == []
    asyncio.run(output.send_custom_json("someone", {"text": "other custom messages still go"}))
    assert sent == [{"text": "other custom messages still go"}]


@pytest.mark.parametrize("channel", ["telegram", "slack"])
def test_a_reply_longer_than_the_chat_apps_limit_goes_in_parts_with_the_buttons_under_the_last(
    monkeypatch, channel
):
    from rasa.core.channels.slack import SlackBot
    from rasa.core.channels.telegram import TelegramOutput

    from threshold.channels.slack import SLACK_BLOCK_TEXT_LIMIT, ClinicSlackBot
    from threshold.channels.telegram import TELEGRAM_TEXT_LIMIT, ClinicTelegramOutput

    sent = []

    async def text_only(self, recipient_id, text, **kwargs):
        sent.append((text, None))

    async def with_buttons(self, recipient_id, text, buttons, **kwargs):
        sent.append((text, buttons))

    parent, limit = (
        (TelegramOutput, TELEGRAM_TEXT_LIMIT) if channel == "telegram" else (SlackBot, SLACK_BLOCK_TEXT_LIMIT)
    )
    monkeypatch.setattr(parent, "send_text_message", text_only)
    monkeypatch.setattr(parent, "send_text_with_buttons", with_buttons)
    output = (
        ClinicTelegramOutput("123:token", "http://127.0.0.1:9")
        if channel == "telegram"
        else ClinicSlackBot("xoxb-token", api_url="http://127.0.0.1:9")
    )
    # Notes with two long answers, one longer than the limit on its own line.
    lines = [
        "Notes for my first session",
        "",
        "What brings me: " + "word " * 700,
        "My questions: " + "x" * (limit + 50),
    ]
    buttons = [{"title": "Talk to a therapist", "payload": "/book_appointment"}]
    asyncio.run(output.send_text_with_buttons("someone", "\n".join(lines), buttons))
    assert len(sent) >= 3
    assert all(len(text) <= limit for text, _ in sent)
    assert [b for _, b in sent] == [None] * (len(sent) - 1) + [buttons]
    assert "".join(text for text, _ in sent).replace("\n", "") == "".join(lines)

    # A person's words that look like Slack markup stay words.
    sent.clear()
    asyncio.run(output.send_text_with_buttons("someone", "<!channel> " + "a " * limit, buttons))
    if channel == "slack":
        assert sent[0][0].startswith("&lt;!channel&gt;")

    sent.clear()
    asyncio.run(output.send_text_with_buttons("someone", "A short reply.", buttons))
    assert sent == [("A short reply.", buttons)]
