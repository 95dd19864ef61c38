"""The demo's webhook subscriber: a small threaded HTTP server on 127.0.0.1, as a Zapier or n8n endpoint.

Each subscription gets its own endpoint ``/r/<trigger key>`` holding the ``whsec_…`` secret the connector
returned for it. Every POST is verified with the ``standardwebhooks`` package (signature, required headers,
5-minute timestamp tolerance); one that fails is answered 401 and counted as unverified, nothing else.
A verified delivery is answered 200 and kept once per ``webhook-id``: a redelivery under a known id (the
connector retries when an answer was lost) is acknowledged and counted apart, as a subscriber dedupes it.
The first arrival of each id is handed to ``on_delivery`` (the live view), with its wall-clock arrival time.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Delivery:
    """The first verified arrival of one ``webhook-id``."""

    trigger: str
    mode: str  # "webhook" or "polling": how the connector learned of the record
    webhook_id: str
    record_id: str  # the item's ``id`` (unique per trigger item)
    payload: dict[str, Any]
    arrived_at: float  # wall time (time.time())


@dataclass(frozen=True)
class Endpoint:
    trigger: str
    mode: str
    secret: str


class DemoReceiver:
    def __init__(self, on_delivery: Callable[[Delivery], None] | None = None) -> None:
        self.on_delivery = on_delivery
        self.unverified = 0
        self.redeliveries = 0
        self._endpoints: dict[str, Endpoint] = {}
        self._deliveries: dict[str, Delivery] = {}  # webhook-id -> first arrival
        self._record_ids: dict[tuple[str, str], set[str]] = defaultdict(set)  # (trigger, id) -> webhook-ids
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> DemoReceiver:
        server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="demo-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the receiver first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def endpoint(self, trigger: str, mode: str, secret: str) -> str:
        """Register (or update) the endpoint of a subscription; returns its URL."""
        with self._lock:
            self._endpoints[trigger] = Endpoint(trigger, mode, secret)
        return self.endpoint_url(trigger)

    def endpoint_url(self, trigger: str) -> str:
        return f"{self.url}/r/{trigger}"

    # --- one request ----------------------------------------------------------------------------------------
    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        """Verify and record one POST; returns the status to answer (200, or 401 when unverified)."""
        arrived_at = time.time()
        endpoint = self._endpoints.get(path.rsplit("/", 1)[-1]) if path.startswith("/r/") else None
        try:
            if endpoint is None:
                raise WebhookVerificationError("unknown endpoint")
            payload = Webhook(endpoint.secret).verify(body, headers)
        except (WebhookVerificationError, ValueError):
            with self._lock:
                self.unverified += 1
            return 401
        webhook_id = headers.get("webhook-id", "")
        record_id = str(payload.get("id")) if isinstance(payload, dict) else ""
        delivery = Delivery(endpoint.trigger, endpoint.mode, webhook_id, record_id, payload, arrived_at)
        with self._lock:
            if webhook_id in self._deliveries:
                self.redeliveries += 1
                return 200
            self._deliveries[webhook_id] = delivery
            self._record_ids[(endpoint.trigger, record_id)].add(webhook_id)
        if self.on_delivery is not None:
            self.on_delivery(delivery)
        return 200

    # --- what arrived ---------------------------------------------------------------------------------------
    def deliveries(self) -> list[Delivery]:
        """First arrivals, one per webhook-id, in arrival order."""
        with self._lock:
            return list(self._deliveries.values())

    def duplicate_records(self) -> int:
        """Items that arrived under more than one webhook-id: duplicates no subscriber could detect."""
        with self._lock:
            return sum(1 for ids in self._record_ids.values() if len(ids) > 1)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A sender that stops mid-request resets the connection: nothing to report in the tour."""


def _handler(receiver: DemoReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.handle(self.path, headers, body)
            reply = json.dumps({"ok": status == 200}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
