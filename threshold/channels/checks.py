"""The input checks every chat channel shares.

Each channel (REST, socket.io, Telegram, Slack) checks what it receives the same
way: a message is a string of valid Unicode, without control characters, at most
MAX_MESSAGE_CHARS long; a REST body is JSON of at most MAX_BODY_BYTES; each
channel's conversation ids carry its own prefix (CHANNEL_PREFIXES). Bad input is an
InputError with the HTTP status to answer and the reason, never a 500.
"""

import json
import re
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request

MAX_MESSAGE_CHARS = 5000
MAX_SENDER_CHARS = 128
# A request body larger than this is refused before it is parsed (413).
MAX_BODY_BYTES = 64 * 1024
# Each channel's conversation ids start with its own prefix, so one channel can never write
# into another's conversation (a REST sender "4242" into Telegram chat 4242's, say).
CHANNEL_PREFIXES = {"telegram": "telegram-", "slack": "slack-", "socketio": "web-"}
# Control characters other than tab and newline carry no meaning in a chat message.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class InputError(ValueError):
    def __init__(self, status: int, message: Text) -> None:
        super().__init__(message)
        self.status = status


def is_valid_unicode(value: Any) -> bool:
    """False when a string anywhere in `value` holds a lone UTF-16 surrogate ("\\udc80"),
    which JSON allows but no database, log or channel can store or send."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    except (TypeError, ValueError):
        return True
    return True


def namespaced(
    on_new_message: Callable[[UserMessage], Awaitable[Any]], prefix: Text
) -> Callable[[UserMessage], Awaitable[Any]]:
    """`on_new_message` with the channel's prefix put before each sender id."""

    async def handle(message: UserMessage) -> Any:
        message.sender_id = f"{prefix}{message.sender_id}"
        return await on_new_message(message)

    return handle


def without_prefix(recipient_id: Text, prefix: Text) -> Text:
    """The channel's own id (a Telegram chat, a Slack user) for a namespaced conversation id."""
    return recipient_id[len(prefix) :] if recipient_id.startswith(prefix) else recipient_id


def clean_message(message: Any) -> Text:
    """A chat message without control characters, or an InputError saying what is wrong."""
    if not isinstance(message, str):
        raise InputError(400, "'message' must be a string")
    if not is_valid_unicode(message):
        raise InputError(400, "'message' is not valid Unicode text")
    message = _CONTROL.sub(" ", message).strip()
    if not message:
        raise InputError(400, "'message' is empty")
    if len(message) > MAX_MESSAGE_CHARS:
        raise InputError(413, f"'message' is longer than {MAX_MESSAGE_CHARS} characters")
    return message


def parse_body(body: bytes) -> Dict[Text, Any]:
    """The sender and message of a request body, or an InputError saying what is wrong.

    Metadata is not kept: nothing in the assistant uses it, so nothing of it is stored."""
    if len(body) > MAX_BODY_BYTES:
        raise InputError(413, f"the request body is larger than {MAX_BODY_BYTES // 1024} kB")
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(400, "the request body is not valid UTF-8") from None
    except ValueError:
        raise InputError(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InputError(400, "the request body must be a JSON object with 'sender' and 'message'")
    if not is_valid_unicode(data):
        raise InputError(400, "the request body holds text that is not valid Unicode")
    sender, message = data.get("sender"), data.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        raise InputError(400, f"'sender' must be a non-empty string of at most {MAX_SENDER_CHARS} characters")
    if sender.startswith(tuple(CHANNEL_PREFIXES.values())):
        reserved = ", ".join(f"'{prefix}'" for prefix in CHANNEL_PREFIXES.values())
        raise InputError(
            400, f"'sender' must not start with {reserved}: those are other channels' conversations"
        )
    return {"sender": sender, "message": clean_message(message)}


def closed_blueprint(name: Text, label: Text, problem: Text) -> Blueprint:
    """A channel's routes while its settings are missing: it says so, and answers nothing."""
    closed = Blueprint(name, __name__)

    @closed.route("/", methods=["GET"])
    async def health(request: Request):
        return response.json({"status": "off"})

    @closed.route("/webhook", methods=["GET", "POST"])
    async def refuse(request: Request):
        return response.json({"error": f"the {label} channel is off: {problem}"}, status=403)

    return closed


# Custom payloads only the website chat understands; the chat apps have no such commands
# and are not sent them:
# - clear_history: clear the window (after a conversation is deleted);
# - guide_summary: the first-session notes, for the widget's copy, print and download
#   buttons (the chat apps get the same notes as the reply's text).
CLEAR_HISTORY = "clear_history"
GUIDE_SUMMARY = "guide_summary"
WEBSITE_ONLY_KEYS = frozenset({CLEAR_HISTORY, GUIDE_SUMMARY})


def is_website_only(json_message: Dict[Text, Any]) -> bool:
    return bool(json_message) and set(json_message) <= WEBSITE_ONLY_KEYS


def split_long_text(text: Text, limit: int) -> List[Text]:
    """`text` in parts of at most `limit` characters, cut at line ends where it can be: a chat
    app refuses a longer message, and the first-session notes hold the person's own words,
    which may be long. Nothing is dropped but the line breaks where it is cut."""
    parts: List[Text] = []
    current: Optional[Text] = None
    for line in text.split("\n"):
        for piece in [line[i : i + limit] for i in range(0, len(line), limit)] or [""]:
            joined = piece if current is None else f"{current}\n{piece}"
            if len(joined) <= limit:
                current = joined
            else:
                parts.append(current)
                current = piece
    parts.append(current or "")
    return [part for part in parts if part.strip()] or [text[:limit]]
