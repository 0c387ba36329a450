"""The Slack channel, configured from the environment.

Rasa 3.6's Slack connector checks each request's signature (and rejects ones
older than five minutes); it needs its secrets in credentials.yml and stops the
server when they are missing. This one reads them from THRESHOLD_SLACK_TOKEN and
THRESHOLD_SLACK_SIGNING_SECRET, stays closed (403) until both are set, answers
Slack's URL check in the form Slack expects, and sends replies to
THRESHOLD_SLACK_API_URL when that is set (the tests' stand-in for Slack).
"""

import json
import logging
import os
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request

from threshold import rasa_overrides
from threshold.channels.checks import (
    CHANNEL_PREFIXES,
    closed_blueprint,
    is_valid_unicode,
    is_website_only,
    namespaced,
    split_long_text,
    without_prefix,
)

logger = logging.getLogger(__name__)
PREFIX = CHANNEL_PREFIXES["slack"]

TOKEN_ENV = "THRESHOLD_SLACK_TOKEN"
SIGNING_SECRET_ENV = "THRESHOLD_SLACK_SIGNING_SECRET"
CHANNEL_ENV = "THRESHOLD_SLACK_CHANNEL"
API_URL_ENV = "THRESHOLD_SLACK_API_URL"
REQUIRED = (TOKEN_ENV, SIGNING_SECRET_ENV)
# Slack's limit for the text of a block (the reply with buttons).
SLACK_BLOCK_TEXT_LIMIT = 3000
# Event ids remembered to answer a replayed event once.
SEEN_EVENTS_KEPT = 10_000


def settings_problem() -> Optional[Text]:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    return f"set {', '.join(missing)}" if missing else None


def without_slack_markup(text: Text) -> Text:
    """Text Slack shows as written: its markup (<!channel>, <url|label>) needs & < and >."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class ClinicSlackBot(SlackBot):
    def __init__(
        self,
        token: Text,
        slack_channel: Optional[Text] = None,
        thread_id: Optional[Text] = None,
        proxy: Optional[Text] = None,
        api_url: Optional[Text] = None,
    ) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        if api_url:
            rasa_overrides.slack_client_for_server(self, token, proxy, api_url)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        # Slack refuses a longer text in the block that carries buttons; the rest goes first.
        *earlier, last = split_long_text(text, SLACK_BLOCK_TEXT_LIMIT)
        for part in earlier:
            # These parts go as Slack markup; a person's own words in them (the first-session
            # notes) must not become a mention or a link. The last part is plain text.
            await super().send_text_message(recipient_id, without_slack_markup(part))
        await super().send_text_with_buttons(recipient_id, last, buttons, **kwargs)

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        await super().send_response(without_prefix(recipient_id, PREFIX), message)

    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        if not is_website_only(json_message):
            await super().send_custom_json(recipient_id, json_message, **kwargs)


class EnvSlackInput(SlackInput):
    @classmethod
    def name(cls) -> Text:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "EnvSlackInput":
        return cls()

    def __init__(self) -> None:
        self.problem = settings_problem()
        if self.problem:
            logger.info("Slack channel: off (%s).", self.problem)
            return
        super().__init__(
            os.environ[TOKEN_ENV],
            slack_channel=os.environ.get(CHANNEL_ENV) or None,
            slack_retry_reason_header="x-slack-retry-reason",
            slack_retry_number_header="x-slack-retry-num",
            slack_signing_secret=os.environ[SIGNING_SECRET_ENV],
        )
        self.api_url = os.environ.get(API_URL_ENV) or None
        self.seen_events: OrderedDict[Text, bool] = OrderedDict()

    def get_output_channel(
        self, channel: Optional[Text] = None, thread_id: Optional[Text] = None
    ) -> SlackBot:
        return ClinicSlackBot(
            self.slack_token, channel or self.slack_channel, thread_id, self.proxy, self.api_url
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if self.problem:
            return closed_blueprint("threshold_slack_closed", "Slack", self.problem)

        slack = super().blueprint(namespaced(on_new_message, PREFIX))

        @slack.middleware("request")
        async def url_verification(request: Request):
            # Slack's one-time URL check wants {"challenge": ...} back; signed like any event.
            if request.method != "POST":
                return None
            if "json" not in (request.headers.get("content-type") or ""):
                # Button presses come as a form with a JSON `payload`.
                try:
                    payload = json.loads((request.form or {}).get("payload") or "{}")
                except ValueError:
                    return None  # Rasa's Slack channel answers a malformed form itself
                if not is_valid_unicode(payload):
                    return response.json(
                        {"error": "the payload holds text that is not valid Unicode"}, status=400
                    )
                return None
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                return response.json({"error": "the body is not valid JSON"}, status=400)
            if not isinstance(body, dict):
                return response.json({"error": "the body is not a Slack event"}, status=400)
            if not is_valid_unicode(body):
                return response.json({"error": "the event holds text that is not valid Unicode"}, status=400)
            event_id = body.get("event_id")
            if (
                body.get("type") == "event_callback"
                and isinstance(event_id, str)
                and self.is_request_from_slack_authentic(request)
            ):
                # Slack may deliver an event again; a replayed event is answered once.
                if event_id in self.seen_events:
                    return response.text("ok")
                self.seen_events[event_id] = True
                while len(self.seen_events) > SEEN_EVENTS_KEPT:
                    self.seen_events.popitem(last=False)
            if body.get("type") == "url_verification":
                if not self.is_request_from_slack_authentic(request):
                    return response.text("bad signature", status=400)
                return response.json({"challenge": body.get("challenge")})
            return None

        return slack
