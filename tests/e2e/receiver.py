"""A webhook subscriber over real HTTP on 127.0.0.1, as a Zapier or n8n endpoint would be.

Each endpoint ``/r/<name>`` has the ``whsec_…`` secret its subscription was given; every POST is verified with
the ``standardwebhooks`` package (signature, required headers, 5-minute timestamp tolerance). A delivery that
fails verification is answered 401 and recorded as unverified. Accepted deliveries are counted two ways: by
``webhook-id`` (a redelivery after a crash reuses it, and a subscriber dedupes on it) and by record id (the
payload's ``id``), so a test can tell "delivered twice under one id" (allowed) from "delivered under two
ids" (a duplicate the subscriber cannot detect).

The receiver can be taken down (:meth:`Receiver.down`: the port refuses connections and kept-alive ones are
dropped) and brought back on the same port (:meth:`Receiver.up`); :attr:`Receiver.respond` picks each
answer. A test that shifts the connector's clock gives the receiver the same clock (``now``), so the
timestamp tolerance is judged against the time the connector believes it is.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

TOLERANCE = timedelta(minutes=5)


class ClockedWebhook(Webhook):
    """``standardwebhooks.Webhook`` whose timestamp check reads an injected clock instead of the wall clock;
    the signature check is the package's own."""

    def __init__(self, secret: str, now: Callable[[], float]) -> None:
        super().__init__(secret)
        self._now = now

    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:  # the package's private hook
        now = datetime.fromtimestamp(self._now(), tz=UTC)
        try:
            timestamp = datetime.fromtimestamp(float(timestamp_header), tz=UTC)
        except (TypeError, ValueError, OverflowError):
            raise WebhookVerificationError("Invalid Signature Headers") from None
        if timestamp < now - TOLERANCE:
            raise WebhookVerificationError("Message timestamp too old")
        if timestamp > now + TOLERANCE:
            raise WebhookVerificationError("Message timestamp too new")
        return timestamp


@dataclass(frozen=True)
class Arrival:
    endpoint: str
    webhook_id: str
    record_id: str | None
    payload: Any
    verified: bool
    status: int
    at: float  # wall time of arrival


Responder = Callable[[str, int], int]  # (endpoint, attempts it got before) -> HTTP status


def always_ok(endpoint: str, before: int) -> int:
    return 200


class Receiver:
    def __init__(self, now: Callable[[], float] | None = None) -> None:
        self.now = now
        self.secrets: dict[str, str] = {}
        self.respond: Responder = always_ok
        self.truncated = 0
        self.delay = 0.0  # seconds to hold each answer back after recording the arrival (a slow subscriber)
        self._arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._refusing = False
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------------------------
    def up(self) -> Receiver:
        """Listen (again, on the same port once it had one)."""
        server = _QuietServer(("127.0.0.1", self.port), _handler(self))
        self.port = int(server.server_address[1])
        self._server, self._refusing = server, False
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def down(self) -> None:
        """Refuse connections: close the listening socket and drop kept-alive connections unanswered."""
        self._refusing = True
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/r/{name}"

    def endpoint(self, name: str, secret: str) -> str:
        self.secrets[name] = secret
        return self.url(name)

    # --- one request ----------------------------------------------------------------------------------------
    def _verify(self, name: str, body: bytes, headers: dict[str, str]) -> Any:
        secret = self.secrets.get(name)
        if not secret:
            raise WebhookVerificationError("unknown endpoint")
        hook = Webhook(secret) if self.now is None else ClockedWebhook(secret, self.now)
        return hook.verify(body, headers)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int | None:
        """The status to answer, or None to drop the connection: the receiver is down, or the request was
        cut short (the sender died mid-request), which no subscriber could act on."""
        if self._refusing:
            return None
        if len(body) < int(headers.get("content-length", "0")):
            with self._lock:
                self.truncated += 1
            return None
        name = path.rsplit("/", 1)[-1]
        try:
            payload, verified = self._verify(name, body, headers), True
        except (WebhookVerificationError, ValueError):
            payload, verified = None, False
        with self._lock:
            before = sum(1 for a in self._arrivals if a.endpoint == name)
            status = self.respond(name, before) if verified else 401
            record_id = payload.get("id") if isinstance(payload, dict) else None
            self._arrivals.append(
                Arrival(
                    name, headers.get("webhook-id", ""), record_id, payload, verified, status, time.time()
                )
            )
        return status

    # --- what arrived ---------------------------------------------------------------------------------------
    def arrivals(self, name: str | None = None) -> list[Arrival]:
        with self._lock:
            return [a for a in self._arrivals if name is None or a.endpoint == name]

    def accepted(self, name: str | None = None) -> list[Arrival]:
        """Verified deliveries answered 2xx: what the subscriber acted on (before deduping)."""
        return [a for a in self.arrivals(name) if a.verified and 200 <= a.status < 300]

    def unverified(self) -> list[Arrival]:
        return [a for a in self.arrivals() if not a.verified]

    def by_webhook_id(self, name: str | None = None) -> Counter[str]:
        return Counter(a.webhook_id for a in self.accepted(name))

    def by_record(self, name: str) -> dict[str, set[str]]:
        """Record id -> the webhook-ids it arrived under (one, when nothing is duplicated)."""
        found: dict[str, set[str]] = defaultdict(set)
        for arrival in self.accepted(name):
            found[str(arrival.record_id)].add(arrival.webhook_id)
        return dict(found)

    def redeliveries(self, name: str | None = None) -> int:
        """Accepted deliveries that repeated a webhook-id already accepted (a subscriber drops them)."""
        return sum(n - 1 for n in self.by_webhook_id(name).values())

    def first_arrival(self, name: str) -> dict[str, float]:
        """Record id -> wall time of its first accepted delivery."""
        first: dict[str, float] = {}
        for arrival in self.accepted(name):
            first.setdefault(str(arrival.record_id), arrival.at)
        return first


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A sender that dies mid-request (SIGKILL) resets the connection: expected here, not news."""


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint behind a load balancer

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.handle(self.path, headers, body)
            if status is None:
                self.close_connection = True
                return
            if receiver.delay:
                time.sleep(receiver.delay)
            reply = json.dumps({"ok": 200 <= status < 300}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
