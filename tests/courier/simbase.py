"""The common part of the provider simulators: an HTTP server on 127.0.0.1 in the test
process, a log of every request, and faults the test queues for the next requests.

Faults (``Simulator.fail(kind, times=1)``): "timeout" (the answer comes after the
client gave up), "5xx" (HTTP 502), "rate" (the provider's flow control), "credentials"
(the provider refuses our credentials, as with an expired key), "duplicate" (the
provider calls a first order a duplicate), "lost_answer" (the order is taken, then the
connection drops before the answer: what a crash between answer and commit looks like
to the provider). Each simulator maps these onto its documented answers.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SLOW = 3.0      # seconds a "timeout" answer waits (clients in tests time out after 1)


@dataclass
class Request:
    path: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json;charset=UTF-8"
    delay: float = 0.0
    drop: bool = False


@dataclass
class Simulator:
    """Subclasses implement ``answer(request, fault)``."""

    requests: list[Request] = field(default_factory=list)
    faults: deque[str] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def fail(self, kind: str, times: int = 1) -> None:
        with self.lock:
            self.faults.extend([kind] * times)

    def start(self) -> str:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 -- http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode("utf-8")
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                self._reply(Request(urlsplit(self.path).path, form, dict(self.headers)))

            def do_GET(self) -> None:  # noqa: N802
                self._reply(Request(urlsplit(self.path).path, {}, dict(self.headers)))

            def _reply(self, request: Request) -> None:
                with sim.lock:
                    sim.requests.append(request)
                    fault = sim.faults.popleft() if sim.faults and request.form else None
                answer = sim.answer(request, fault)
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the client gave up (timeout fault)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, request: Request, fault: str | None) -> Answer:
        raise NotImplementedError

    def calls(self, pick: Callable[[Request], bool]) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if pick(r)]
