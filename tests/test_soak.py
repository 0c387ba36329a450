"""The soak script's helpers (the soak itself runs outside `make test`: `make soak`)."""

import asyncio
import json
import os
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scripts_path import load_script

soak = load_script("soak")
bench = load_script("bench")


def test_quarter_peaks_take_the_highest_of_each_quarter():
    assert soak.quarter_peaks([1, 2, 3, 4, 5, 6, 7, 8, 9]) == [2, 4, 6, 9]
    assert soak.quarter_peaks([5, 4, 3, 2]) == [5, 4, 3, 2]
    assert soak.quarter_peaks([7]) == [7, 7, 7, 7]


def test_people_start_new_conversations_of_the_given_length():
    senders = Counter()

    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            senders[body["sender"]] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/webhook"
        figures = asyncio.run(bench.drive(url, 2, 10, os.getpid(), conversation_length=4))
    finally:
        server.shutdown()
        server.server_close()
    # Two people, ten messages each, in conversations of 4, 4 and 2 messages.
    assert sorted(senders.values()) == [2, 2, 4, 4, 4, 4]
    assert figures["sent"] == dict(senders) and figures["errors"] == 0
