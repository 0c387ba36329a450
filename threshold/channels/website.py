"""The website chat channel (socket.io), for the widget in web/.

Rasa 3.6's socketio channel accepts connections from any web page and passes on
whatever a client sends. This one:
- accepts browsers only from the clinic's allowed_origins (clinic.yml);
- checks each message like the REST channel does (a string, control characters
  removed, at most 5000 characters, a session id) and drops bad ones with a
  warning that holds no message text;
- keeps a conversation across page reloads (session_persistence): the widget
  asks for its earlier session id, and replies go to every tab that shares it;
- issues the session ids itself, signed (SessionIds): an id a client makes up,
  or another person's guessed id, is refused;
- with THRESHOLD_SOCKETIO_REDIS_URL set (several server processes, `make cluster`),
  shares its rooms through Redis, so a reply reaches the person's connection whichever
  process holds it;
- refuses `jwt_key` and `jwt_method` in credentials.yml at start-up: Rasa's JWT
  check is not part of this channel (the signed session ids do that job), and a
  key that is silently ignored would look like protection it is not.
"""

import hashlib
import hmac
import logging
import os
import secrets
import uuid
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from socketio import AsyncRedisManager, AsyncServer

from threshold import rasa_overrides
from threshold.channels.checks import (
    CHANNEL_PREFIXES,
    MAX_SENDER_CHARS,
    InputError,
    clean_message,
    is_valid_unicode,
)
from threshold.clinic_profile import process_profile, web_origins

logger = logging.getLogger(__name__)


SESSION_SECRET_ENV = "THRESHOLD_SESSION_SECRET"
SOCKETIO_REDIS_ENV = "THRESHOLD_SOCKETIO_REDIS_URL"
# Settings of Rasa's socket.io channel this one does not honour; refused, not ignored.
UNSUPPORTED_CREDENTIALS = ("jwt_key", "jwt_method")


class SessionIds:
    """Conversation ids the server issues and signs, so a client can neither guess
    another person's id nor pick one (such as a Telegram chat's number).

    The key comes from THRESHOLD_SESSION_SECRET; without it, a random key per process
    (a restart then starts new conversations in open browser tabs)."""

    PREFIX = CHANNEL_PREFIXES["socketio"]

    def __init__(self, secret: Optional[Text] = None) -> None:
        secret = secret or os.environ.get(SESSION_SECRET_ENV) or secrets.token_hex(32)
        self.key = secret.encode()

    def _signature(self, token: Text) -> Text:
        return hmac.new(self.key, token.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> Text:
        token = uuid.uuid4().hex
        return f"{self.PREFIX}{token}.{self._signature(token)}"

    def verified(self, value: Any) -> Optional[Text]:
        """`value` when it is an id this server issued, else None."""
        if not isinstance(value, str) or len(value) > MAX_SENDER_CHARS or not value.startswith(self.PREFIX):
            return None
        token, _, signature = value[len(self.PREFIX) :].partition(".")
        if not token or not hmac.compare_digest(signature.encode(), self._signature(token).encode()):
            return None
        return value


class WebsiteOutput(SocketIOOutput):
    """Rasa 3.6's socket.io output, but a reply's custom payload reaches the widget as one
    message (Rasa's passes its keys to `emit` as arguments, which fails for any payload
    that is not shaped for that), as the widget's clear_history command needs."""

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any):
        await self.sio.emit(self.bot_message_evt, json_message, room=recipient_id)


def shared_rooms(environ: Mapping[Text, Text]) -> Dict[Text, Any]:
    """With several server processes (`make cluster`), a reply is published through Redis
    (THRESHOLD_SOCKETIO_REDIS_URL, redis://host:port/db) to whichever process holds the
    person's connection: a second tab or a reconnect to another process still gets it."""
    url = (environ.get(SOCKETIO_REDIS_ENV) or "").strip()
    if not url:
        return {}
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise InvalidConfigException(f"{SOCKETIO_REDIS_ENV} must be a redis:// address, not '{url}'")
    return {"client_manager": AsyncRedisManager(url)}


def session_id_of(data: Any, ids: SessionIds) -> Optional[Text]:
    value = data.get("session_id") if isinstance(data, dict) else None
    return ids.verified(value) if is_valid_unicode(value) else None


class ClinicSocketIOInput(SocketIOInput):
    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        refused = [key for key in UNSUPPORTED_CREDENTIALS if key in (credentials or {})]
        if refused:
            raise InvalidConfigException(
                f"credentials.yml: the website chat channel ({cls.__module__}.{cls.__name__}) does not "
                f"support {' or '.join(refused)}: the widget's conversations are identified by session ids "
                f"this server issues and signs itself ({SESSION_SECRET_ENV}), not by JWTs. "
                f"Remove {', '.join(refused)} from its section in credentials.yml."
            )
        return super().from_credentials(credentials)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        origins = web_origins(process_profile())
        # An empty list would switch the origin check off; no origins means no browsers.
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=origins or ["null-origin.invalid"],
            **shared_rooms(os.environ),
        )
        ids = SessionIds()
        webhook = rasa_overrides.socketio_blueprint(
            sio, self.socketio_path, "threshold_socketio_webhook", __name__
        )
        self.sio = sio

        @webhook.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok"})

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any) -> None:
            session_id = session_id_of(data, ids) or ids.issue()
            if self.session_persistence:
                sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any) -> None:
            sender_id = session_id_of(data, ids) if self.session_persistence else sid
            if sender_id is None:
                logger.warning("socketio: a message without a session_id this server issued was dropped.")
                return
            try:
                text = clean_message(data.get("message"))
            except InputError as error:
                logger.warning("socketio: a message was dropped: %s.", error)
                return
            # Metadata is not passed on: nothing uses it, so nothing of it is stored.
            await on_new_message(
                UserMessage(
                    text,
                    WebsiteOutput(sio, self.bot_message_evt),
                    sender_id,
                    input_channel=self.name(),
                )
            )

        return webhook
