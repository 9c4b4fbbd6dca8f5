"""A real local HTTP server that records JSON posts and can fail the first attempts.

    with webhook_server(fail_first=2) as hook:      # answers 503 twice, then 200
        post_json(hook.url, {...})
    hook.bodies                                      # every body received, parsed

It listens on 127.0.0.1 on a free port (port 0) in a background thread; ``status`` sets the
failure answer (e.g. 400 or 500) and ``fail_first=-1`` fails every request.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Hook:
    url: str
    fail_first: int
    status: int
    bodies: list = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def webhook_server(*, fail_first: int = 0, status: int = 503, path: str = "/hooks/secret-token"):
    hook = Hook(url="", fail_first=fail_first, status=status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            with hook.lock:
                hook.attempts += 1
                failing = hook.fail_first < 0 or hook.attempts <= hook.fail_first
                if not failing:
                    hook.bodies.append(json.loads(raw))
            self.send_response(hook.status if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
