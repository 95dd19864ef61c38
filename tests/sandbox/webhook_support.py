"""Support for the webhook tests: a local HTTP receiver, an independent `MP-Signature` check, projects.

The signature check is written here from webhooks.md §4 on purpose, without the sandbox's signing module,
so a mistake there cannot hide in both places.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from connector.sandbox.ids import new_id
from tests.helpers import Tenant


@dataclass(frozen=True)
class Received:
    """One request as it arrived; `headers` keys are lower case."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def signature(self) -> dict[str, str]:
        """`MP-Signature` split into its parts: {"t": …, "v1": …, "v0"?: …}."""
        parts = (p.partition("=") for p in self.headers["mp-signature"].split(","))
        return {key.strip(): value.strip() for key, _, value in parts}

    @property
    def t(self) -> int:
        return int(self.signature["t"])


def expected_signature(secret: str, t: str, body: bytes) -> str:
    return hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_with(received: Received, secret: str, part: str = "v1") -> bool:
    sig = received.signature
    if part not in sig:
        return False
    return hmac.compare_digest(sig[part], expected_signature(secret, sig["t"], received.body))


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """Records every POST; answers per path (`answers`) or with `default`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.default = Answer()
        self.answers: dict[str, Answer] = {}
        self._cond = threading.Condition()
        self.closing = threading.Event()  # cuts answer delays short when the receiver stops
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = False  # server_close() joins the handler threads
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def record(self, item: Received) -> Answer:
        with self._cond:
            self.received.append(item)
            self._cond.notify_all()
            return self.answers.get(item.path, self.default)

    def wait_for(self, count: int, path: str | None = None, timeout: float = 5.0) -> list[Received]:
        """Block until `count` requests (to `path`, if given) have arrived; return them in arrival order."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                items = [r for r in self.received if path is None or r.path == path]
                if len(items) >= count:
                    return items
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} deliveries to {path or 'any path'}, got {len(items)}"
                    )
                self._cond.wait(remaining)

    def count(self, path: str | None = None) -> int:
        with self._cond:
            return sum(1 for r in self.received if path is None or r.path == path)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = receiver.record(Received(self.path, headers, body, time.time()))
            if answer.delay:
                receiver.closing.wait(answer.delay)
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except OSError:  # the sender gave up waiting (timeout tests)
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def add_project(tenant: Tenant) -> str:
    """A bare project of the tenant's team, put straight into the store (enough for scoping and fan-out)."""
    project_id = new_id("prj")
    fields = {"id": project_id, "name": "Alpha", "handle": project_id.lower(), "active": True}
    tenant.server.sandbox.store.insert("projects", {**fields, "_team": tenant.team["id"]})
    return project_id
