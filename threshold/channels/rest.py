"""The REST channel, guarded: a token, checked input, and no message text in logs.

Rasa 3.6's REST webhook accepts anyone. This one (set in credentials.yml) answers
only requests with `Authorization: Bearer <THRESHOLD_WEBHOOK_TOKEN>`; without that
variable it stays closed (403). Bad input gets a clear 4xx, never a 500.
"""

import hmac
import logging
import os
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from threshold.channels.checks import InputError, parse_body

logger = logging.getLogger(__name__)

TOKEN_ENV = "THRESHOLD_WEBHOOK_TOKEN"


class TokenRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def __init__(self, token: Optional[Text] = None) -> None:
        self.token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        if not self.token:
            logger.warning("%s is not set: the REST channel is closed.", TOKEN_ENV)

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TokenRestInput":
        return cls()

    def _authorised(self, request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return bool(self.token) and hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint("threshold_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request):
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            if not self.token:
                return response.json({"error": f"the REST channel is closed: set {TOKEN_ENV}"}, status=403)
            if not self._authorised(request):
                return response.json({"error": "missing or wrong token"}, status=401)
            try:
                parsed = parse_body(request.body or b"")
            except InputError as error:
                return response.json({"error": str(error)}, status=error.status)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        parsed["message"],
                        collector,
                        parsed["sender"],
                        input_channel=self.name(),
                    )
                )
            except Exception as error:  # the person gets an answer, the log no message text
                logger.error("A message could not be handled: %s", type(error).__name__)
                return response.json({"error": "the message could not be handled"}, status=503)
            return response.json(collector.messages)

        return webhook
