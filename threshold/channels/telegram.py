"""The Telegram channel, with the webhook's secret checked.

Rasa 3.6's Telegram connector accepts any POST to its webhook, asks Telegram who
it is for every message, and calls Telegram while the server starts. This one:
- answers only updates that carry `X-Telegram-Bot-Api-Secret-Token` equal to
  THRESHOLD_TELEGRAM_SECRET (Telegram sends it once the webhook is registered
  with that secret, which this channel does when the server has started);
- stays closed (403) until its three variables are set;
- keeps the server running if Telegram cannot be reached at start-up.
THRESHOLD_TELEGRAM_API_URL points it at another Bot API server (a local one,
or the tests' stand-in); by default it is Telegram's.
"""

import hmac
import logging
import os
import re
import warnings
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from aiogram.types import Update
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.telegram import TelegramOutput
from sanic import Blueprint, response
from sanic.request import Request

from threshold import rasa_overrides
from threshold.channels.checks import (
    CHANNEL_PREFIXES,
    closed_blueprint,
    is_valid_unicode,
    is_website_only,
    split_long_text,
    without_prefix,
)

logger = logging.getLogger(__name__)
PREFIX = CHANNEL_PREFIXES["telegram"]

# aiogram switches deprecation warnings back on for the whole process when Rasa imports
# it; libraries' notices about their own code are noise in a clinic's server log.
warnings.filterwarnings("ignore", category=DeprecationWarning)

TOKEN_ENV = "THRESHOLD_TELEGRAM_TOKEN"
WEBHOOK_URL_ENV = "THRESHOLD_TELEGRAM_WEBHOOK_URL"
SECRET_ENV = "THRESHOLD_TELEGRAM_SECRET"
API_URL_ENV = "THRESHOLD_TELEGRAM_API_URL"
REQUIRED = (TOKEN_ENV, WEBHOOK_URL_ENV, SECRET_ENV)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's rule for secret tokens.
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
# Telegram refuses a longer message; a longer reply (long first-session notes) goes in parts.
TELEGRAM_TEXT_LIMIT = 4096
# Telegram's "/start" when someone opens the bot: greet them.
START_COMMAND = "/start"
GREETING = "/greet"


def settings_problem() -> Optional[Text]:
    """What is wrong with the Telegram settings, or None when it can be switched on."""
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        return f"set {', '.join(missing)}"
    if not _SECRET.match(os.environ[SECRET_ENV]):
        return f"{SECRET_ENV} must be 16-256 letters, digits, '_' or '-'"
    if not os.environ[WEBHOOK_URL_ENV].startswith("https://") and not os.environ.get(API_URL_ENV):
        return f"{WEBHOOK_URL_ENV} must be an https:// address Telegram can reach"
    return None


class ClinicTelegramOutput(TelegramOutput):
    """Telegram replies, sent to the configured Bot API server; buttons one per row,
    as they are read on a phone; a reply over Telegram's length limit in parts, the buttons
    under the last."""

    def __init__(self, access_token: Text, api_url: Optional[Text] = None) -> None:
        rasa_overrides.telegram_output_for_server(self, access_token, api_url)

    async def send_text_with_buttons(
        self,
        recipient_id: Text,
        text: Text,
        buttons: List[Dict[Text, Any]],
        button_type: Optional[Text] = "vertical",
        **kwargs: Any,
    ) -> None:
        *earlier, last = split_long_text(text, TELEGRAM_TEXT_LIMIT)
        for part in earlier:
            await super().send_text_message(recipient_id, part)
        await super().send_text_with_buttons(recipient_id, last, buttons, button_type=button_type, **kwargs)

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        await super().send_response(without_prefix(recipient_id, PREFIX), message)

    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        if not is_website_only(json_message):
            await super().send_custom_json(recipient_id, json_message, **kwargs)


def text_of(update: Update) -> Optional[Text]:
    """The text a person sent, or the payload of the button they pressed."""
    if update.callback_query is not None:
        return update.callback_query.data
    message = update.message or update.edited_message
    if message is None or not message.text:
        return None  # photos, stickers, locations: nothing to answer
    text = message.text.strip()
    return GREETING if text.split("@")[0] == START_COMMAND else text


def chat_of(update: Update) -> Optional[int]:
    message = (
        update.callback_query.message if update.callback_query else (update.message or update.edited_message)
    )
    return message.chat.id if message is not None and message.chat is not None else None


class SecretTelegramInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "SecretTelegramInput":
        return cls()

    def __init__(self) -> None:
        self.problem = settings_problem()
        if self.problem:
            logger.info("Telegram channel: off (%s).", self.problem)
            return
        self.token = os.environ[TOKEN_ENV]
        self.webhook_url = os.environ[WEBHOOK_URL_ENV]
        self.secret = os.environ[SECRET_ENV]
        self.api_url = os.environ.get(API_URL_ENV) or None

    def get_output_channel(self) -> ClinicTelegramOutput:
        return ClinicTelegramOutput(self.token, self.api_url)

    def _authentic(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode(), self.secret.encode())

    async def register_webhook(self) -> bool:
        """Tell Telegram where to send updates, and the secret to send with them."""
        bot = self.get_output_channel()
        try:
            return bool(
                await bot.request(
                    "setWebhook",
                    {
                        "url": self.webhook_url,
                        "secret_token": self.secret,
                        "allowed_updates": '["message", "edited_message", "callback_query"]',
                    },
                )
            )
        except Exception as error:  # the other channels keep working
            logger.error(
                "Telegram channel: could not register the webhook with Telegram (%s).", type(error).__name__
            )
            return False
        finally:
            await bot.close()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if self.problem:
            return closed_blueprint("threshold_telegram_closed", "Telegram", self.problem)
        telegram = Blueprint("threshold_telegram_webhook", __name__)
        out_channel = self.get_output_channel()

        @telegram.route("/", methods=["GET"])
        async def health(request: Request):
            return response.json({"status": "ok"})

        @telegram.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            if not self._authentic(request):
                return response.json({"error": "missing or wrong secret token"}, status=403)
            try:
                if not is_valid_unicode(request.json):
                    return response.json(
                        {"error": "the update holds text that is not valid Unicode"}, status=400
                    )
                update = Update(**request.json)
                text, chat = text_of(update), chat_of(update)
            except Exception:  # aiogram reads the fields lazily, so both steps can fail
                return response.json({"error": "the body is not a Telegram update"}, status=400)
            if text is None or chat is None:
                return response.text("ok")  # acknowledged, nothing to answer
            try:
                await on_new_message(
                    UserMessage(text, out_channel, f"{PREFIX}{chat}", input_channel=self.name())
                )
            except Exception as error:  # Telegram would retry forever on an error status
                logger.error("Telegram channel: a message could not be handled (%s).", type(error).__name__)
            return response.text("ok")

        @telegram.listener("after_server_start")
        async def register(app, loop):
            if await self.register_webhook():
                logger.info("Telegram channel: webhook registered.")

        return telegram
