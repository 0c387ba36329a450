"""Serves the chat widget and a demo clinic page (`make run`: http://localhost:8080).

  /                          the demo clinic page (web/index.html), with the widget
  /widget.js, /widget.css    the widget; a clinic adds one <script> tag to its site
  /widget-config.json        the widget's words and colours, from clinic.yml and
                             content/widget.yml, and where the assistant is
  /vendor/socket.io.min.js   the socket.io client, from web/node_modules (npm ci)

The assistant's address is THRESHOLD_ASSISTANT_URL, or by default the host the
page was loaded from on port RASA_PORT (5005).

Usage: python -m threshold.web [--port 8080] [--host 127.0.0.1]
"""

import argparse
import html
import json
import logging
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

from threshold.clinic_profile import ClinicProfile, ClinicProfileError, load_clinic_profile
from threshold.content_files import read_content_file

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WEB_ROOT = PROJECT_ROOT / "web"
WIDGET_TEXT_PATH = PROJECT_ROOT / "content" / "widget.yml"
SOCKET_IO_CLIENT = WEB_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
ASSISTANT_URL_ENV = "THRESHOLD_ASSISTANT_URL"
STATIC_FILES = {
    "/widget.js": (WEB_ROOT / "widget.js", "text/javascript; charset=utf-8"),
    "/widget.css": (WEB_ROOT / "widget.css", "text/css; charset=utf-8"),
    "/demo.css": (WEB_ROOT / "demo.css", "text/css; charset=utf-8"),
    "/vendor/socket.io.min.js": (SOCKET_IO_CLIENT, "text/javascript; charset=utf-8"),
}


# The words web/widget.js shows: each must be in content/widget.yml, and nothing else
# (a misspelt key would leave the widget showing "undefined").
WIDGET_WORDS = (
    "title", "launcher", "open_label", "close_label", "log_label", "input_label", "placeholder", "send",
    "you", "assistant", "typing", "connecting", "offline", "no_answer", "footer",
    "notes_copy", "notes_copied", "notes_print", "notes_download", "notes_file_name", "notes_actions_label",
)  # fmt: skip


class WidgetTextError(ValueError):
    """content/widget.yml (or the demo page) is missing a word, has an unknown one, or uses a
    {placeholder} that clinic.yml does not provide."""


def fill_placeholders(template: str, values: Dict[str, object], where: str) -> str:
    """{placeholders} filled from the clinic profile: the one syntax of every content file."""

    class _Values(dict):
        def __missing__(self, key):
            raise WidgetTextError(f"{where} uses {{{key}}}, which clinic.yml does not provide")

    try:
        return template.format_map(_Values(values))
    except (ValueError, IndexError) as error:
        raise WidgetTextError(f"{where}: a brace that is not a {{placeholder}} ({error})") from None


def widget_text(profile: ClinicProfile, path: Path = WIDGET_TEXT_PATH) -> Dict[str, str]:
    """The widget's words with the clinic's details filled in; every word checked."""
    words = read_content_file(path, WidgetTextError, "the widget's words file does not exist")
    if not isinstance(words, dict):
        raise WidgetTextError(f"{path}: expected the widget's words, one per line (title: ...)")
    unknown = sorted(set(words) - set(WIDGET_WORDS))
    if unknown:
        raise WidgetTextError(f"{path}: unknown word '{unknown[0]}' (expected: {', '.join(WIDGET_WORDS)})")
    for key in WIDGET_WORDS:
        if not isinstance(words.get(key), str) or not words[key].strip():
            raise WidgetTextError(f"{path}: '{key}' must be a non-empty text")
    values = profile.template_values()
    return {key: fill_placeholders(words[key], values, f"{path}: '{key}'") for key in WIDGET_WORDS}


def assistant_url_for(host_header: Optional[str], rasa_port: int) -> str:
    configured = os.environ.get(ASSISTANT_URL_ENV)
    if configured:
        return configured.rstrip("/")
    hostname = urlsplit(f"//{host_header or 'localhost'}").hostname or "localhost"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    return f"http://{hostname}:{rasa_port}"


class WidgetSite:
    def __init__(self, profile: ClinicProfile, rasa_port: int = 5005) -> None:
        if not SOCKET_IO_CLIENT.is_file():
            raise FileNotFoundError(f"{SOCKET_IO_CLIENT} is missing: run `make setup` (npm ci in web/)")
        self.profile = profile
        self.rasa_port = rasa_port
        self.text = widget_text(profile)
        values = {key: html.escape(str(value)) for key, value in profile.template_values().items()}
        self.page = fill_placeholders(
            (WEB_ROOT / "index.html").read_text(encoding="utf-8"), values, "web/index.html"
        )

    def config(self, host_header: Optional[str]) -> Dict:
        return {
            "assistant_url": assistant_url_for(host_header, self.rasa_port),
            "colours": {
                "primary": self.profile.widget["primary_colour"],
                "text_on_primary": self.profile.widget["text_on_primary"],
            },
            "text": self.text,
        }

    def handle(self, path: str, host_header: Optional[str]) -> Tuple[int, str, bytes, Dict[str, str]]:
        """Status, content type, body and extra headers for a GET of `path`."""
        path = urlsplit(path).path
        if path in ("/", "/index.html"):
            assistant = assistant_url_for(host_header, self.rasa_port)
            websocket = "ws" + assistant[len("http") :] if assistant.startswith("http") else assistant
            policy = (
                f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                f"connect-src 'self' {assistant} {websocket}; frame-ancestors 'self'; base-uri 'none'"
            )
            return 200, "text/html; charset=utf-8", self.page.encode(), {"Content-Security-Policy": policy}
        if path == "/widget-config.json":
            return 200, "application/json", json.dumps(self.config(host_header)).encode(), {}
        if path in STATIC_FILES:
            file, content_type = STATIC_FILES[path]
            return 200, content_type, file.read_bytes(), {}
        return 404, "text/plain; charset=utf-8", b"not found", {}


def make_handler(site: WidgetSite):
    class Handler(BaseHTTPRequestHandler):
        server_version = "threshold-web"
        sys_version = ""

        def _respond(self, with_body: bool) -> None:
            try:
                status, content_type, body, headers = site.handle(self.path, self.headers.get("Host"))
            except Exception as error:  # a broken file must not take the page down silently
                logger.error("web: %s", error)
                status, content_type, body, headers = 500, "text/plain; charset=utf-8", b"server error", {}
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Cache-Control", "no-cache")
            origin = self.headers.get("Origin")
            if origin and origin in site.profile.allowed_origins:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Vary", "Origin")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self):
            self._respond(True)

        def do_HEAD(self):
            self._respond(False)

        def log_message(self, *args):
            pass  # no request log: addresses of people chatting stay out of it

    return Handler


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", 8080)))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--rasa-port", type=int, default=int(os.environ.get("RASA_PORT", 5005)))
    args = parser.parse_args(argv)
    try:
        site = WidgetSite(load_clinic_profile(), args.rasa_port)
    except (ClinicProfileError, WidgetTextError, FileNotFoundError) as error:
        print(f"The web page cannot start: {error}", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer((args.host, args.port), make_handler(site))
    print(f"Web widget demo page: http://localhost:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
