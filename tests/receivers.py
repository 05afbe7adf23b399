"""A tiny local HTTP receiver for the sinks' tests: it records every request and answers
with the statuses (and headers) a test scripts, then 200."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """What arrived, and what to answer next."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    success: int = 200
    delay: float = 0.0
    """Seconds to wait before answering (a slow sink)."""

    def answer(self, status: int, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status``."""
        self.answers.extend([(status, headers or {})] * times)


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A receiver listening on localhost until the block ends."""
    box = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            box.requests.append(Received(self.path, headers, body))
            time.sleep(box.delay)
            status, extra = box.answers.popleft() if box.answers else (box.success, {})
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            reply = b"ok" if status < 300 else b'{"error":"scripted"}'
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
