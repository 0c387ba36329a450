"""A stand-in for api.telegram.org and slack.com/api on loopback.

The assistant's channels send their replies here (THRESHOLD_TELEGRAM_API_URL,
THRESHOLD_SLACK_API_URL) instead of over the internet; every call is recorded
with its method and fields, and answered the way the real API answers.
"""

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List


def _fields(content_type: str, body: bytes) -> Dict[str, Any]:
    if "json" in content_type:
        return json.loads(body or b"{}")
    return {key: values[-1] for key, values in urllib.parse.parse_qs(body.decode()).items()}


class FakeChatApis:
    def __init__(self) -> None:
        self.calls: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        apis = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                method = self.path.rstrip("/").rsplit("/", 1)[-1]
                fields = _fields(self.headers.get("Content-Type", ""), body)
                with apis._lock:
                    apis.calls.append({"path": self.path, "method": method, "fields": fields})
                self._answer(apis.answer(method, fields))

            do_GET = do_POST

            def _answer(self, payload):
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def answer(method: str, fields: Dict[str, Any]) -> Dict[str, Any]:
        if method == "sendMessage":
            return {
                "ok": True,
                "result": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "text": fields.get("text", ""),
                    "chat": {"id": int(fields.get("chat_id", 0)), "type": "private"},
                },
            }
        if method == "chat.postMessage":
            return {"ok": True, "channel": fields.get("channel"), "ts": f"{time.time():.6f}"}
        return {"ok": True, "result": True}

    def calls_to(self, method: str, **match: Any) -> List[Dict[str, Any]]:
        with self._lock:
            return [
                c["fields"]
                for c in self.calls
                if c["method"] == method and all(str(c["fields"].get(k)) == str(v) for k, v in match.items())
            ]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 30.0, **match: Any
    ) -> List[Dict[str, Any]]:
        """The calls to `method` (with fields equal to `match`), once there are `count` of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls_to(method, **match)
            if len(found) >= count:
                time.sleep(0.5)  # a reply may come in several messages
                return self.calls_to(method, **match)
            time.sleep(0.1)
        raise TimeoutError(f"no {method} call with {match} within {timeout} s; calls: {self.calls[-5:]}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
